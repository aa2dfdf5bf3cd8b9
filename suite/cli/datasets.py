"""`kdsuite datasets [NAME]`: the source used, splits, label counts and fingerprint of each dataset."""

from __future__ import annotations

from kdsuite.cli.common import data_args, load


def add(sub) -> None:
    p = sub.add_parser("datasets", help="show datasets: source used, splits, label counts, fingerprint")
    p.add_argument("dataset", nargs="?", help="one dataset (default: all registered)")
    data_args(p, dataset=False)
    p.set_defaults(run=run, show=show)


def run(args) -> dict:
    from kdsuite.data.datasets import DATASETS

    out = {}
    for name in [args.dataset] if args.dataset else list(DATASETS):
        ds = load(args, name)
        note = DATASETS[name].note if name in DATASETS else ""
        out[ds.name] = ds.summary() | ({"note": note} if note else {})
    return out


def show(result: dict) -> None:
    for summary in result.values():
        print(f"{summary['name']}  source: {summary['source']}  fingerprint: {summary['fingerprint']}")
        print(f"  labels: {', '.join(summary['label_names'])}")
        if summary.get("note"):
            print(f"  note: {summary['note']}")
        for split, info in summary["splits"].items():
            dist = ", ".join(f"{k} {v}" for k, v in info["labels"].items())
            empty = f"   ({info['empty_rows']} with no token after standardisation)" if info.get("empty_rows") else ""
            print(f"  {split:<11} {info['rows']:>7} rows   {dist}{empty}")
        for k, v in summary["recipe"].items():
            print(f"  {k}: {v}")
