"""``cobotsim report RUN_DIR`` (docs/reports.md), registered through the entry-point group
``cobotsim.commands`` like ``bench``; the heavy imports wait until the command runs."""
from __future__ import annotations

from simulator.errors import CobotsimError


def _report(args) -> int:
    from benchmarks.report.build import FORMATS, build_report
    from benchmarks.report.fonts import FontMissing

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if not formats or unknown:
        raise CobotsimError(f"--format {args.format!r}: expected html, pdf or html,pdf")
    if args.worst < 0:
        raise CobotsimError(f"--worst {args.worst}: expected 0 or more")
    try:
        paths = build_report(args.run_dir, formats, args.lang, args.out, args.worst)
    except (ImportError, FontMissing) as exc:
        raise CobotsimError(str(exc)) from None
    for fmt, path in paths.items():
        print(f"{fmt}: {path}")
    return 0


def add_commands(sub) -> None:
    """Register ``report`` with the ``cobotsim`` subparsers."""
    report = sub.add_parser("report", help="an evidence report (HTML and PDF) of a run folder of "
                            "cobotsim bench or cobotsim run, from its files alone")
    report.add_argument("run_dir", help="the run folder (cobotsim bench --out or cobotsim run --out)")
    report.add_argument("--format", default="html,pdf",
                        help="html, pdf or html,pdf (default: both)")
    report.add_argument("--lang", choices=["en", "ja"], default="en",
                        help="the report's language (default en)")
    report.add_argument("--out", default=None, metavar="PATH",
                        help="where to write: PATH.html and PATH.pdf (default RUN_DIR/report, "
                             "RUN_DIR/report_ja for --lang ja)")
    report.add_argument("--worst", type=int, default=3, metavar="N",
                        help="how many worst episodes to show in detail, by contact ratio and by "
                             "separation margin each (default 3)")
    report.set_defaults(func=_report)
