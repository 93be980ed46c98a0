"""Where the daily report files are written: the `reports` bucket of the lake."""

import dagster as dg
from upath import UPath


class ReportStore(dg.ConfigurableResource):
    """Writes report files under ``<root>/reports``; root is a folder or an ``s3://`` URL."""

    root: str

    def write(self, relative_path: str, data: bytes) -> str:
        target = UPath(self.root) / "reports" / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.rename(target)
        return str(target)
