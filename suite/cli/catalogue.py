"""`kdsuite list datasets|students|teachers`: what is registered."""

from __future__ import annotations

from kdsuite.backend import BACKENDS, use_backend
from kdsuite.cli.common import print_rows


def add(sub) -> None:
    p = sub.add_parser("list", help="list registered datasets, students or teachers")
    p.add_argument("what", choices=("datasets", "students", "teachers"))
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=print_rows)


def run(args) -> list[dict]:
    if args.what == "datasets":
        from kdsuite.data.datasets import DATASETS

        return [{"name": s.name, "hub_id": s.hub_id, "labels": list(s.label_names), "splits": list(s.hub_splits),
                 "max_length": s.max_length} for s in DATASETS.values()]
    if args.what == "students":
        use_backend(args.backend)
        from kdsuite.students import STUDENTS, count_params

        return [{"name": e.name, "family": e.meta.get("family", ""), "description": e.meta.get("description", ""),
                 "size": e.defaults, "params_at_vocab_5000": count_params(e.name)} for e in STUDENTS.entries()]
    from kdsuite.teachers import TEACHERS

    return [{"name": e.name, "family": e.meta.get("family", ""), "params": e.meta.get("params", ""),
             "description": e.meta.get("description", "")} for e in TEACHERS.entries()]
