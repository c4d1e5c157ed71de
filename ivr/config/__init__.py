"""The routing configuration document: schema, checks, YAML in and out."""

from ivr.config.checks import Problem, coverage_warnings
from ivr.config.document import ConfigDocument, Family, Motive, Priority, Structure
from ivr.config.loader import (
    ConfigInvalid,
    demo_yaml_text,
    dump_yaml_text,
    load_yaml_text,
    to_data,
    validate_document,
)

__all__ = [
    "ConfigDocument",
    "ConfigInvalid",
    "Family",
    "Motive",
    "Priority",
    "Problem",
    "Structure",
    "coverage_warnings",
    "demo_yaml_text",
    "dump_yaml_text",
    "load_yaml_text",
    "to_data",
    "validate_document",
]
