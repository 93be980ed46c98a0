"""Where the daily report files are written: the `reports` bucket of the lake.

Each file is written whole (`LakeStorage.write_bytes`): a reader or a publishing sensor sees
the previous report or the new one, never a truncated file.
"""

import dagster as dg

from ..settings import REPORTS_BUCKET
from .object_store import LakeStorage, unsafe_name_reason


class ReportStore(dg.ConfigurableResource):
    """Writes report files under ``<lake>/reports``."""

    storage: dg.ResourceDependency[LakeStorage]

    def write(self, relative_path: str, data: bytes) -> str:
        if reason := unsafe_name_reason(relative_path, allow_folders=True):
            raise ValueError(
                f"report path {relative_path!r} is not inside the reports bucket: {reason}"
            )
        target = self.storage.upath() / REPORTS_BUCKET / relative_path
        self.storage.write_bytes(target, data)
        return str(target)
