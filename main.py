"""Start GAN Studio: ``python main.py [PROJECT]`` opens the window.

``python main.py --headless COMMAND ...`` runs the command-line studio
instead (the same as ``python -m studio COMMAND ...``).
"""

import os
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--headless":
        from studio.cli import main as cli_main

        return cli_main(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print(
            "\nusage: python main.py [PROJECT]\n       python main.py --headless COMMAND ...  (see --headless --help)"
        )
        return 0
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    from studio.gui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
