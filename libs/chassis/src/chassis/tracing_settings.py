"""Where a service's spans go and how trace ids are made: part of every ``ServiceSettings``.

TRACES_EXPORTER=file   OTLP/JSON lines in TRACES_DIR/<service>.jsonl (the local default,
                       set by the launcher)
TRACES_EXPORTER=otlp   OTLP over HTTP to TRACES_OTLP_ENDPOINT (a collector, or ADOT on AWS)
TRACES_EXPORTER=none   no spans recorded; trace ids still propagate and reach the logs
TRACES_ID_GENERATOR=xray and TRACES_PROPAGATORS=tracecontext,xray: what X-Ray needs on AWS
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROPAGATORS = frozenset({"tracecontext", "xray"})


class TracingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    traces_exporter: Literal["none", "file", "otlp", "console"] = "none"
    traces_dir: Path | None = None
    traces_file_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # e.g. http://127.0.0.1:4318/v1/traces
    traces_otlp_endpoint: str | None = None
    # Head sampling of new traces; a trace started upstream keeps its caller's decision.
    traces_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    traces_id_generator: Literal["random", "xray"] = "random"
    traces_propagators: str = "tracecontext"
    # How long finished spans may wait before they are written: short for a local store a
    # developer reads seconds later, longer for a collector.
    traces_flush_seconds: float = Field(default=1.0, gt=0.0, le=60.0)

    @field_validator("traces_propagators")
    @classmethod
    def _known_propagators(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(names) - PROPAGATORS)
        if not names or unknown:
            raise ValueError(f"TRACES_PROPAGATORS takes a list of {sorted(PROPAGATORS)}")
        return ",".join(names)

    @model_validator(mode="after")
    def _exporter_has_a_destination(self) -> TracingSettings:
        if self.traces_exporter == "file" and self.traces_dir is None:
            raise ValueError("TRACES_EXPORTER=file needs TRACES_DIR")
        if self.traces_exporter == "otlp" and not self.traces_otlp_endpoint:
            raise ValueError("TRACES_EXPORTER=otlp needs TRACES_OTLP_ENDPOINT")
        return self
