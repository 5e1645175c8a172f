"""The training configuration: one typed dataclass, plain data in and out.

A preset is a saved ``TrainConfig``; a project holds one; a run freezes a copy
in its ``config.json``; a checkpoint carries it too.  Every field has a
default and a help text (the window shows it as a tooltip, the CLI in
``info``), and :meth:`TrainConfig.validate` refuses impossible combinations
with a message a user can act on.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from studio.errors import ConfigError

__all__ = [
    "TrainConfig",
    "Family",
    "FAMILY_TABLE",
    "FAMILIES",
    "LOSSES",
    "PRECISIONS",
    "COMPILE_CHOICES",
    "family_spec",
    "architecture_keys",
    "family_keys",
    "field_help",
]


@dataclass(frozen=True)
class Family:
    """One model family: whether G and D see the condition, and how D reads it.

    ``d_mode``: 'none' (D judges real/fake only), 'concat' (the embedded
    condition tiled next to D's features), 'projection' (an inner product with
    D's pooled features) or 'aux' (an auxiliary head classifies the condition).
    """

    name: str
    title: str
    conditional: bool
    d_mode: str

    @property
    def has_aux(self) -> bool:
        """D has an auxiliary classifier head, trained with the condition space's aux loss (ACGAN)."""
        return self.d_mode == "aux"


# The one table of model families: everything that differs between them is read from here.
FAMILY_TABLE: dict[str, Family] = {
    f.name: f
    for f in (
        Family("dcgan", "DCGAN (unconditional)", conditional=False, d_mode="none"),
        Family("cgan-concat", "cGAN, condition concatenated", conditional=True, d_mode="concat"),
        Family("cgan-projection", "cGAN, projection D", conditional=True, d_mode="projection"),
        Family("acgan", "ACGAN (auxiliary classifier)", conditional=True, d_mode="aux"),
    )
}
FAMILIES = tuple(FAMILY_TABLE)


def family_spec(name: str) -> Family:
    """The :class:`Family` called ``name``."""
    try:
        return FAMILY_TABLE[name]
    except KeyError:
        raise ConfigError(f"family is {name!r}; choose one of {', '.join(FAMILIES)}") from None


def _families(test) -> tuple[str, ...]:
    """Names of the families for which ``test(family)`` holds (for a setting's ``families``)."""
    return tuple(f.name for f in FAMILY_TABLE.values() if test(f))


LOSSES = ("bce", "hinge", "wgan-gp")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
COMPILE_CHOICES = ("off", "on")
IMAGE_SIZES = (32, 64, 128)


def _f(default: Any, help: str, **extra: Any):
    """A dataclass field carrying its help text (and optional bounds) as metadata.

    ``arch``: the parts of the model whose shape the setting defines ('g', 'd',
    'ema'): two checkpoints differing in it hold different models.
    ``families``: the families the setting applies to, where not all.
    """
    meta = {"help": help, **extra}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    # --- data -------------------------------------------------------------
    dataset: str = _f(
        "builtin:faces",
        "Dataset spec: builtin:faces, builtin:shapes, builtin:digits, folder:PATH (one subfolder per class), "
        "mnist:ROOT, fashion-mnist:ROOT, cifar10:ROOT, svhn:ROOT, celeba:ROOT?attrs=Smiling,Male (torchvision's "
        "layout under ROOT; ?split=test, ?download=1 to fetch missing files) or table:FILE.csv|json (images "
        "labelled by a table; ?images=DIR). See the README's dataset specs.",
    )
    dataset_size: int = _f(
        0,
        "Images to draw for a built-in set (0 = its default, 12,000). Ignored for other sources.",
        min=0,
        max=1_000_000,
    )
    image_size: int = _f(
        64, "Side of the square images the GAN makes: 32, 64 or 128 px.", choices=IMAGE_SIZES, arch=("g", "d")
    )
    channels: int = _f(3, "Colour channels: 3 for RGB, 1 for grey.", choices=(1, 3), arch=("g", "d"))

    # --- model ------------------------------------------------------------
    family: str = _f(
        "acgan",
        "dcgan: unconditional. cgan-concat: condition concatenated in D. "
        "cgan-projection: projection discriminator. acgan: D also classifies the condition.",
        choices=FAMILIES,
        arch=("g", "d"),
    )
    nz: int = _f(100, "Length of the noise vector z. Typical 64-128.", min=1, max=1024, arch=("g",))
    ngf: int = _f(64, "Generator width (feature maps in its last layer). Typical 32-128.", min=1, max=1024, arch=("g",))
    ndf: int = _f(
        64, "Discriminator width (feature maps in its first layer). Typical 32-128.", min=1, max=1024, arch=("d",)
    )
    g_input: str = _f(
        "conv",
        "How z reaches the 4x4 feature map: conv (DCGAN transposed conv) or linear (dense layer, then reshape).",
        choices=("conv", "linear"),
        arch=("g",),
    )
    g_conditioning: str = _f(
        "concat",
        "How G receives the condition: concat (embedding concatenated to z), multiply (label embedding times z), "
        "or cbn (concatenated, and every BatchNorm's gain and bias follow the condition: a stronger hold on "
        "classes, but watch the sample grid for G ignoring z).",
        choices=("concat", "multiply", "cbn"),
        arch=("g",),
        families=_families(lambda f: f.conditional),
    )
    g_embed: int = _f(
        0,
        "Width of G's condition embedding, concatenated to z and with cbn read by every BatchNorm "
        "(0 = the raw encoding).",
        min=0,
        max=4096,
        arch=("g",),
        families=_families(lambda f: f.conditional),
    )
    g_activation: str = _f(
        "relu", "Activation in G: relu (DCGAN) or leaky (LeakyReLU 0.2).", choices=("relu", "leaky"), arch=("g",)
    )
    d_head: str = _f(
        "conv",
        "D's real/fake head: conv (DCGAN 4x4 convolution) or mlp (flatten, dense 512, dense 1).",
        choices=("conv", "mlp"),
        arch=("d",),
    )
    d_embed: int = _f(
        256,
        "Width of the condition embedding tiled next to D's 4x4 features (cgan-concat).",
        min=1,
        max=4096,
        arch=("d",),
        families=_families(lambda f: f.d_mode == "concat"),
    )
    d_dropout: float = _f(
        0.0,
        "Dropout after each D block. 0 disables; 0.25-0.5 in some recipes. On the CPU the rate is rounded to "
        "1/256 (0.25 and 0.5 exactly), the price of a mask some 4x cheaper to draw.",
        min=0.0,
        max=0.9,
    )
    d_batchnorm: bool = _f(True, "BatchNorm in D's hidden blocks (DCGAN). Off with WGAN-GP.", arch=("d",))
    d_spectral_norm: bool = _f(False, "Spectral normalisation of every D layer (stabilises training).", arch=("d",))
    d_minibatch_std: bool = _f(
        False,
        "Minibatch standard deviation (ProGAN): D's heads also see how much the images of a group of 4 vary, so a "
        "G that ignores z (identical columns in the sample grid) is easy to tell from real data.",
        arch=("d",),
    )

    # --- loss -------------------------------------------------------------
    loss: str = _f("bce", "Adversarial loss: bce (original GAN), hinge, or wgan-gp.", choices=LOSSES)
    aux_weight: float = _f(
        1.0,
        "Weight of the auxiliary classification loss (ACGAN). Recipes used 1, 24 and 100. A multi-label loss is "
        "averaged over all labels, most of them absent, so it needs about the label count (24-100) to weigh "
        "what 1-3 does for a softmax.",
        min=0.0,
        max=1e4,
        families=_families(lambda f: f.has_aux),
    )
    aux_on_fake: bool = _f(
        True,
        "Train D's classifier on generated images too (original ACGAN). Off: D learns classes from real images "
        "only, so G cannot agree with D on wrong colours.",
        families=_families(lambda f: f.has_aux),
    )
    aux_loss: str = _f(
        "ce",
        "D's classifier: ce (ACGAN's softmax cross-entropy) or d2d-ce (ReACGAN, Kang et al. 2021: D maps each "
        "image to a unit-length embedding, pulls it towards a learned unit vector of its class and pushes it "
        "from images of other classes in the batch, each with a margin; avoids the early collapse of ACGAN's "
        "classifier with many classes). Needs one class per image or per attribute (one embedding per "
        "attribute); not for multi-label or colour conditions. ReACGAN on CIFAR-10: temperature 0.5, margin "
        "0.98, aux_weight 0.5, D's classifier on real images only (aux_on_fake off).",
        choices=("ce", "d2d-ce"),
        arch=("d",),
        families=_families(lambda f: f.has_aux),
    )
    d2d_temperature: float = _f(
        0.5,
        "Temperature of d2d-ce: lower sharpens how strongly the closest wrong-class images push. ReACGAN: 0.5; "
        "typical 0.1-1.",
        min=0.01,
        max=10.0,
        families=_families(lambda f: f.has_aux),
    )
    label_smoothing: float = _f(
        0.0, "One-sided label smoothing: D's target for real images is 1 - this. Typical 0.1.", min=0.0, max=0.5
    )
    label_noise: float = _f(
        0.0,
        "Soft, noisy targets: real drawn from [1-s-noise, 1-s], fake from [0, noise]. The i-CLEVR recipe used 0.3.",
        min=0.0,
        max=0.5,
    )
    label_flip: float = _f(
        0.0,
        "Probability of swapping real and fake targets for a D step. The i-CLEVR recipe used 0.1.",
        min=0.0,
        max=0.5,
    )
    gp_weight: float = _f(10.0, "Gradient penalty weight for wgan-gp.", min=0.0, max=1e3)
    lecam_weight: float = _f(
        0.0,
        "Weight of the LeCam regulariser (Tseng et al. 2021) for small datasets: D's logits on real images are "
        "pulled towards a moving average of its logits on fakes and vice versa, so D cannot drift to ever larger "
        "margins. 0 disables; the paper used 0.3 for BigGAN on 10-20% of CIFAR-10 and 0.01 for StyleGAN2.",
        min=0.0,
        max=100.0,
    )
    r1_gamma: float = _f(
        0.0,
        "R1 gradient penalty (Mescheder et al. 2018): (gamma/2) times the squared gradient of D's logit on real "
        "images, applied lazily every r1_every D steps. 0 disables; typical 0.1-10 (StyleGAN2 on CIFAR-10: "
        "0.01). Needs d_batchnorm off (BatchNorm mixes the images' gradients).",
        min=0.0,
        max=1e4,
    )
    r1_every: int = _f(
        16,
        "D steps between R1 penalties (lazy regularisation, StyleGAN2: 16); the penalty is scaled by this to "
        "keep its average strength. 1 applies it every step.",
        min=1,
        max=1000,
    )
    mode_seeking: float = _f(
        0.0,
        "Weight of the mode-seeking term (MSGAN): G draws its fakes in pairs that share a condition and is "
        "penalised when two noise vectors give near-identical images, for a G that ignores z (identical columns "
        "in the sample grid). 0 disables; the MSGAN paper used 1. On acgan-shapes-cpu, 0.2 for 20 CPU minutes "
        "tripled how much a condition's scenes differ (much of it in overall brightness, not layout) and cost "
        "some 0.05 of conditional accuracy; 1 gave noisy images.",
        min=0.0,
        max=100.0,
    )
    diffaugment: str = _f(
        "off",
        "DiffAugment (Zhao et al. 2020): D sees real and generated images only through the same random "
        "translation, cutout and colour changes, so it cannot memorise a small set. off (default); auto: on for "
        "sets under 20,000 images (without color when the conditions are colours), off above; or a comma list "
        "of translation, cutout, color. The paper: CIFAR-10 at 10% of the data, FID 36.0 -> 14.5 over long "
        "runs. Measured here on 10,000 CIFAR-10 images, acgan-cifar10 for 40 epochs, two seeds: Inception FID "
        "101/110 off against 125/133 with translation,cutout,color (recall 0.05 -> 0.004), so not on by default.",
    )
    cr_weight: float = _f(
        0.0,
        "Consistency regularisation (bCR, Zhao et al. 2020): D's loss gains this times (D(x) - D(T(x)))^2 for "
        "real and generated images, T a random translation, so D answers the same for shifted images. "
        "0 disables; the paper used 10.",
        min=0.0,
        max=1e3,
    )
    d_steps: int = _f(1, "D updates per iteration.", min=1, max=20)
    g_steps: int = _f(1, "G updates per iteration (the i-CLEVR recipe used several).", min=1, max=20)

    # --- optimisation -----------------------------------------------------
    batch_size: int = _f(64, "Images per step. Typical 32-128.", min=2, max=4096)
    epochs: int = _f(25, "Passes over the dataset.", min=1, max=100_000)
    g_lr: float = _f(2e-4, "Adam learning rate of G. DCGAN: 2e-4.", min=1e-7, max=1.0)
    d_lr: float = _f(2e-4, "Adam learning rate of D. DCGAN: 2e-4.", min=1e-7, max=1.0)
    g_betas: list = _f([0.5, 0.999], "Adam betas of G. DCGAN: 0.5, 0.999.")
    d_betas: list = _f([0.5, 0.999], "Adam betas of D. DCGAN: 0.5, 0.999.")
    lr_step_epochs: int = _f(
        0, "Multiply both learning rates by lr_gamma every this many epochs (0 = constant).", min=0
    )
    lr_gamma: float = _f(
        0.8, "Factor of the step LR schedule. The faces recipe: 0.8 every 10 epochs.", min=0.01, max=1.0
    )
    ema: bool = _f(False, "Keep an exponential moving average of G's weights (often sharper samples).", arch=("ema",))
    ema_decay: float = _f(0.999, "EMA decay per step. Typical 0.99-0.9999.", min=0.0, max=0.999999)

    # --- run --------------------------------------------------------------
    seed: int = _f(0, "Random seed: the same seed on CPU repeats a run exactly.", min=0, max=2**31 - 1)
    device: str = _f("auto", "auto (CUDA when present), cpu, cuda, cuda:N, or cuda:all (every GPU, one process each).")
    precision: str = _f(
        "auto",
        "auto: bfloat16 autocast on CPUs with bf16 instructions, float32 (TF32) on CUDA, where these models "
        "gain nothing from autocast; float32 turns it off.",
        choices=PRECISIONS,
    )
    compile: str = _f(
        "off",
        "on: compile G's and D's training passes with torch.compile (the same weights within float rounding). "
        "A new model's first steps spend about a minute compiling on 2 CPU cores; the result is cached under the "
        "studio's cache folder (or TORCHINDUCTOR_CACHE_DIR), so later runs of the same model start in seconds. "
        "Where compiling fails (no C++ compiler, an unsupported layer) the run says so in one line and trains "
        "uncompiled. Measured on 2 CPU cores with bf16 instructions: 0.97-1.04x the uncompiled speed "
        "(acgan-digits, dcgan-faces), so off by default; unmeasured on CUDA. No CUDA graphs.",
        choices=COMPILE_CHOICES,
    )
    cpu_threads: int = _f(
        0,
        "CPU threads of the training step. 0 (default): as many as PyTorch starts with, fewer while other "
        "programs keep cores busy, back when they stop (a change between steps, with a line in the log), so "
        "training slows in proportion to the cores taken rather than stalling; repeats a run to float rounding. "
        "N: exactly N threads, bit-identical repeats on one machine. Ignored on CUDA.",
        min=0,
        max=1024,
    )
    log_every: int = _f(10, "Report step figures every this many steps.", min=1, max=100_000)
    checkpoint_every: int = _f(1, "Write a checkpoint every this many epochs (the last epoch always).", min=1)
    keep_checkpoints: int = _f(
        3,
        "Full, resumable checkpoints (G, D, optimisers: ~190 MB at 64 px) to keep: the last this many plus pinned "
        "ones; 0 keeps all. Every epoch also keeps a slim generator snapshot (a few MB) for averaging, sampling "
        "and export. Typical 2-5.",
        min=0,
        max=100_000,
    )
    disk_budget_gb: float = _f(
        0.0,
        "Refuse to start a run whose projected disk use (a snapshot per epoch, the kept full checkpoints, sample "
        "grids, metrics) exceeds this many GB, saying by how much. 0 = no limit.",
        min=0.0,
        max=1e6,
    )
    sample_grid_max: int = _f(64, "Most images in the per-epoch sample grid.", min=1, max=400)

    # --- run health -------------------------------------------------------
    collapse_alarm: bool = _f(
        True,
        "Check every epoch for signs of collapse (G's images of one condition all alike, D winning outright, the "
        "judge's accuracy falling) and raise an alarm. Costs a few hundred generated images per epoch.",
    )
    alarm_diversity: float = _f(
        0.25,
        "Alarm when G's within-condition diversity (how much its images of one condition differ, as a share of "
        "how much real ones do; in the judge's features, else 16x16 pixels) falls below this share of the "
        "highest the run reached, or below 0.01 (identical images). acgan-digits measured 0.27-0.88 in the "
        "judge's features in healthy epochs and 0.000 once G ignored z. 0 turns this check off.",
        min=0.0,
        max=10.0,
    )
    alarm_d_gap: float = _f(
        0.95,
        "Alarm when D(x) - D(G(z)) stays above this for alarm_d_steps steps (D tells every fake apart). "
        "acgan-digits measured epoch means up to 0.81 in healthy epochs (0.88 on 1,000 images, still improving), "
        "0.99 with G frozen. 0 turns this check off.",
        min=0.0,
        max=1.0,
    )
    alarm_d_steps: int = _f(
        500, "Steps D's separation must stay above alarm_d_gap before the alarm. Typical 200-1000.", min=1
    )
    alarm_acc_drop: float = _f(
        0.2,
        "Alarm when the judge's accuracy on G's images (the median of the last 3 epochs) falls this far below "
        "its best (needs the dataset's judge). Real CIFAR-10 swung 0.36, 0.60, 0.39 in healthy early epochs. "
        "Typical 0.15-0.3; 0 turns this check off.",
        min=0.0,
        max=1.0,
    )
    alarm_patience: int = _f(
        1, "Epochs in a row diversity or accuracy must stay beyond its threshold before the alarm.", min=1, max=1000
    )
    alarm_after: int = _f(2, "First epoch the alarm may be raised in (a fresh G draws alike images at first).", min=1)
    on_alarm: str = _f(
        "none",
        "What an alarm does: none (report it), stop (stop with a checkpoint), or stop-and-mark-best (stop and "
        "mark the best scored generator, else the last one before the collapse, as the one to use).",
        choices=("none", "stop", "stop-and-mark-best"),
    )
    score_every: int = _f(
        0,
        "Score G (and its EMA) with the dataset's judge every this many epochs and at the end (conditional "
        "accuracy, FID in the judge's features) and keep the best generators. 0 = off. A judge is trained once "
        "on first use (a minute or two on a CPU).",
        min=0,
    )
    keep_best: int = _f(3, "Best generators to keep by best_by, in checkpoints/best/.", min=0, max=1000)
    best_by: str = _f(
        "cond_acc",
        "The score that ranks generators: cond_acc (the judge's accuracy, higher is better) or fid (FID in the "
        "judge's features, lower is better).",
        choices=("cond_acc", "fid"),
    )
    score_features: str = _f(
        "judge",
        "Feature space of the FID that score_every records: judge (the dataset's judge; seconds on a CPU, "
        "comparable within the dataset only) or inception (the literature's FID; about 2 minutes a score on a "
        "2-core CPU). On natural images the two can disagree: over epochs 60-160 of real CIFAR-10 the judge's "
        "FID rose from 11 to 36 while Inception's fell to 54.",
        choices=("judge", "inception"),
    )

    # ----------------------------------------------------------------------
    @property
    def family_spec(self) -> Family:
        """The chosen family's row of :data:`FAMILY_TABLE`."""
        return family_spec(self.family)

    @property
    def conditional(self) -> bool:
        return self.family_spec.conditional

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> TrainConfig:
        """Build from plain data; unknown keys and wrong types are refused by name."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected an object of settings, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
        values = {}
        for name, value in data.items():
            values[name] = _coerce(known[name], value, source)
        cfg = cls(**values)
        cfg.validate(source)
        return cfg

    def replace(self, **changes: Any) -> TrainConfig:
        data = self.to_dict()
        data.update(changes)
        return TrainConfig.from_dict(data)

    def validate(self, source: str = "config") -> None:
        """Refuse values out of range and combinations that cannot train."""
        for f in fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{source}: {f.name} is {value}; give a finite number")
            if "choices" in meta and value not in meta["choices"]:
                choices = ", ".join(str(c) for c in meta["choices"])
                raise ConfigError(f"{source}: {f.name} is {value!r}; choose one of {choices}")
            if "min" in meta and value < meta["min"]:
                raise ConfigError(f"{source}: {f.name} is {value}; it must be at least {meta['min']}")
            if "max" in meta and value > meta["max"]:
                raise ConfigError(f"{source}: {f.name} is {value}; it must be at most {meta['max']}")
        for name in ("g_betas", "d_betas"):
            betas = getattr(self, name)
            if len(betas) != 2 or not all(_is_number(b) and 0.0 <= b < 1.0 for b in betas):
                raise ConfigError(f"{source}: {name} must be two numbers in [0, 1), got {betas}")
        if self.loss == "wgan-gp" and self.d_batchnorm:
            raise ConfigError(
                f"{source}: wgan-gp penalises per-sample gradients, which BatchNorm in D mixes across the batch; "
                "turn d_batchnorm off"
            )
        if self.r1_gamma > 0 and self.d_batchnorm:
            raise ConfigError(
                f"{source}: R1 (r1_gamma {self.r1_gamma}) penalises per-image gradients, which BatchNorm in D mixes "
                "across the batch; turn d_batchnorm off (spectral norm is the usual stabiliser beside R1) or set "
                "r1_gamma to 0"
            )
        if self.g_conditioning == "multiply" and self.g_embed not in (0, self.nz):
            raise ConfigError(f"{source}: g_conditioning 'multiply' embeds the label to nz; set g_embed to 0")
        if not (self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"{source}: device is {self.device!r}; use auto, cpu, cuda or cuda:N")
        if self.diffaugment.strip().lower() != "auto":
            from studio.core.augment import parse_policy

            parse_policy(self.diffaugment, source)

    def check_against(self, space, source: str = "config") -> None:
        """Refuse a family that needs a condition on an unlabelled dataset, and colour augmentation of colours."""
        if self.conditional and not space.is_conditional:
            raise ConfigError(
                f"{source}: family '{self.family}' needs a labelled dataset, and {self.dataset} has no labels; "
                "choose dcgan"
            )
        if self.family_spec.has_aux and self.aux_loss == "d2d-ce" and not space.class_sizes:
            from studio.core.d2dce import d2d_refusal

            raise ConfigError(f"{source}: {d2d_refusal(space)}")
        from studio.core.augment import check_policy

        check_policy(self.diffaugment, space if self.conditional else None, source)


def _coerce(f, value: Any, source: str) -> Any:
    """Accept JSON-ish values (ints for floats, lists for tuples) and refuse others by name."""
    default = f.default if f.default is not MISSING else f.default_factory()
    expected = type(default)
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {f.name} must be true or false, got {value!r}")
        return value
    if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if expected is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if expected is list and isinstance(value, (list, tuple)):
        if not all(_is_number(v) for v in value):
            raise ConfigError(f"{source}: {f.name} must be a list of finite numbers, got {value!r}")
        return [float(v) for v in value]
    if expected is str and isinstance(value, str):
        return value
    raise ConfigError(f"{source}: {f.name} must be a {expected.__name__}, got {value!r}")


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool, which JSON and Python both let pass as a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def architecture_keys(family: str | None = None, part: str | None = None) -> tuple[str, ...]:
    """The settings that define the model's architecture, in declaration order.

    ``family``: only those that apply to it (None: all). ``part``: only those
    shaping 'g', 'd' or 'ema' (None: any). Two checkpoints that differ in one of
    them hold different models: a resume, an average or a weights file refuses them.
    """
    keys = []
    for f in fields(TrainConfig):
        parts, families = f.metadata.get("arch", ()), f.metadata.get("families")
        if parts and (part is None or part in parts) and (family is None or families is None or family in families):
            keys.append(f.name)
    return tuple(keys)


def family_keys() -> dict[str, tuple[str, ...]]:
    """Settings that apply to some families only: {setting: the families it applies to}."""
    return {f.name: f.metadata["families"] for f in fields(TrainConfig) if "families" in f.metadata}


def field_help(name: str) -> str:
    """The help text of one setting (tooltips, CLI)."""
    for f in fields(TrainConfig):
        if f.name == name:
            return f.metadata.get("help", "")
    raise KeyError(name)
