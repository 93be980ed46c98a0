"""Where the daily report files are written: the `reports` bucket of the lake."""

import dagster as dg

from ..settings import REPORTS_BUCKET
from .object_store import LakeStorage


class ReportStore(dg.ConfigurableResource):
    """Writes report files under ``<lake>/reports``."""

    storage: dg.ResourceDependency[LakeStorage]

    def write(self, relative_path: str, data: bytes) -> str:
        target = self.storage.upath() / REPORTS_BUCKET / relative_path
        self.storage.write_bytes(target, data)
        return str(target)
