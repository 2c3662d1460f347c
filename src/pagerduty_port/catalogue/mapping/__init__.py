"""The catalogue's single source of truth: Port Ocean mapping files, parsed and checked
(`config`), compiled to one jq program per resource (`compile`), run with per-field
diagnosis (`engine`) and read from an action input (`load`)."""

from .compile import SANDBOX_PREFIX, compile_jq
from .config import KINDS, EntityMapping, ResourceSpec
from .engine import MappingError, PageResult, Resource
from .load import MappingConfig, default_mapping_text, load_mapping, parse_mapping

__all__ = [
    "KINDS",
    "SANDBOX_PREFIX",
    "EntityMapping",
    "MappingConfig",
    "MappingError",
    "PageResult",
    "Resource",
    "ResourceSpec",
    "compile_jq",
    "default_mapping_text",
    "load_mapping",
    "parse_mapping",
]
