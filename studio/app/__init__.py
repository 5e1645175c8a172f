"""The operations a user performs, shared by the window and the command line (no Qt here).

Each takes plain values and returns plain results; the CLI parses arguments,
calls one, and prints; the window builds a request from its widgets, calls
one (in a worker when it is long), and shows the result. Long operations take
``progress(text, fraction)`` and ``should_stop()`` callables and raise a
:class:`~studio.errors.StudioError` (a stop: :class:`~studio.app.common.Cancelled`)
for anything a user can fix.

    runs         resume rules: plan_resume, create_run, refuse_if_busy, tidy_run
    training     Training (a run, new or resumed, in the calling thread), new_project
    distributed  --gpus/--processes: torchrun launched and waited for; a rank's session (join, share_request)
    sweep        --set values read and checked, their combinations, the results table (CSV)
    run_queue    the project's queue.json: entries, one runner at a time, one run per GPU
    checkpoints  a run's checkpoints and generators, a project's runs, inspect, average
    compare      the comparison sheet: which generators, their labels, the drawing
    sampling     layouts (the sample command's words and the explorer's modes), sample_grid
    exporting    a generator alone, with the description of its inputs
    evaluation   evaluate generators, train a dataset's judge
    reporting    text both front ends show (the per-epoch line, a run's size, checkpoint listings)
"""
