"""Type stubs of the native module (python/src/lib.rs)."""

import os
from typing import Any, Callable, Optional, Sequence, Union

import pyarrow

__version__: str

class KermaError(Exception):
    """A file kerma could not read; the message is the JSON ``error`` of the file."""

def extract_json(
    source: Union[str, os.PathLike[str], bytes, bytearray], label: Optional[str] = None
) -> str: ...
def scan_tables(
    paths: Sequence[Union[str, os.PathLike[str]]],
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    skin_settings_json: Optional[str] = None,
) -> tuple[pyarrow.Table, pyarrow.Table, pyarrow.Table, dict[str, int]]: ...
def schemas() -> dict[str, pyarrow.Schema]: ...
def rust_scan(
    paths: Sequence[Union[str, os.PathLike[str]]], threads: Optional[int] = None
) -> int: ...
