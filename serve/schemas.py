"""Request and response models of the HTTP API (separate from the classifier's internal objects).

Request bodies are documented with these models but validated by ``classifier.schema.parse_conversation``
(see ``serve.conversations``), so the service answers with exactly the messages ``scopeguard validate``
prints, and one bad conversation in a batch does not fail the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from classifier.inference import Prediction
from classifier.profile import ProfileSource
from classifier.schema import MAX_PROFILE_CHARS, MAX_PROFILE_NAME_CHARS, ROLES, Label, Role, ScoredRole
from serve.settings import DEFAULT_MODEL, ModelName

EXAMPLE_CONVERSATION: dict[str, Any] = {
    "id": "conv-0001",
    "turns": [
        {"role": "user", "text": "hi, where is my order 4411?", "ts": "2026-03-02T10:15:00Z"},
        {
            "role": "assistant",
            "text": "Let me check... it left our warehouse yesterday and arrives tomorrow.",
        },
    ],
    "lang": "en",
    "meta": {"channel": "whatsapp", "business": "online fashion shop"},
}
EXAMPLE_GENERAL: dict[str, Any] = {
    "id": "conv-0002",
    "turns": [
        {"role": "user", "text": "can you write me a poem about the sea?"},
        {"role": "assistant", "text": "Waves roll in silver light, the gulls cry over the harbour at night."},
    ],
}


# -- requests (documentation of what serve.conversations accepts) ---------------------------------------


class TurnIn(BaseModel):
    """One message. ``text`` must not be blank."""

    role: Role = Field(
        description="user (customer), assistant (the bot), agent (human after handover), system (bot config)"
    )
    text: str = Field(min_length=1, description="the message text (never logged)")
    ts: datetime | None = Field(default=None, description="ISO 8601 timestamp")


class ConversationIn(BaseModel):
    """A conversation in schema v1 (docs/FORMATS.md). ``label`` is accepted and ignored."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_CONVERSATION]})

    id: str = Field(min_length=1, description="your id of the conversation, returned as is")
    turns: list[TurnIn] = Field(min_length=1)
    label: Label | None = Field(default=None, description="ignored")
    lang: str | None = Field(default=None, description="BCP-47 language tag")
    meta: dict[str, Any] = Field(
        default_factory=dict,
        description="free-form; meta.business (text or {name, description}) is the record's business profile",
    )
    business: str | BusinessProfileIn | None = Field(
        default=None,
        description="the business profile to judge this conversation under, when it brings none (no system "
        "turn, no meta.business); else the server's default profile applies (docs/PROFILES.md)",
    )
    model: ModelName = Field(
        default=DEFAULT_MODEL,
        description="which of the service's models decides: default (the audit model), or live (a fast "
        "model for live checks, held only when the service runs with a live model; else 422 unknown_model)",
    )


class BusinessProfileIn(BaseModel):
    """Who the business is, what it sells or does, and what its bot is for (docs/PROFILES.md)."""

    name: str | None = Field(default=None, max_length=MAX_PROFILE_NAME_CHARS)
    description: str = Field(min_length=1, max_length=MAX_PROFILE_CHARS)


class BatchRequest(BaseModel):
    """Up to ``max_batch_items`` conversations; each is validated and classified on its own."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"conversations": [EXAMPLE_CONVERSATION]}]})

    conversations: list[ConversationIn]


class ReloadRequest(BaseModel):
    """Optionally a different model folder to switch to (default: the folder currently served)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"model": "models/default"}]}
    )

    model: str | None = Field(default=None, description="model folder on the server's file system")
    live_model: str | None = Field(
        default=None,
        description="live model folder to switch to (only on a service holding a live model; both models "
        "are reloaded either way)",
    )


# -- responses -------------------------------------------------------------------------------------------


class ProfileOut(BaseModel):
    """Which business profile the decision was made under (never its text)."""

    source: ProfileSource = Field(
        description="system: the conversation's system turns; record: meta.business or the request's "
        "business field; default: the server's or the model's default profile"
    )
    name: str | None = None
    digest: str = Field(description="short sha256 digest of the profile text")


class EvidenceOut(BaseModel):
    turn: int = Field(description="0-based index of the turn in the request")
    role: ScoredRole
    score: float = Field(description="calibrated score of this turn")


class Classification(BaseModel):
    """The decision about one conversation."""

    id: str
    label: Label
    score: float = Field(description="calibrated probability of general_assistance")
    threshold: float = Field(description="label = general_assistance iff score >= threshold")
    model: str = Field(description="id of the model that decided")
    evidence: list[EvidenceOut] = Field(description="the turns that most raised the score (at most 3)")
    profile: ProfileOut | None = Field(description="the business profile it was judged under, if any")

    @classmethod
    def of(cls, prediction: Prediction) -> Classification:
        return cls.model_validate(prediction.to_dict())


class ClassifyResponse(Classification):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "conv-0001",
                    "label": "business_support",
                    "score": 0.0312,
                    "threshold": 0.5,
                    "model": "scopeguard-minilm-l6-r1-3f9a2c1d",
                    "evidence": [{"turn": 1, "role": "assistant", "score": 0.0312}],
                    "profile": {"source": "record", "name": "Northwind Outfitters", "digest": "3f2a9c1b7d0e"},
                    "latency_ms": 6.8,
                }
            ]
        }
    )

    latency_ms: float = Field(description="time spent in the service")


class ErrorResponse(BaseModel):
    """Every error response (and every failed batch item) has this shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": f"request (id conv-9): turns[1].role 'bot' is not one of {', '.join(ROLES)}",
                    "code": "invalid_conversation",
                    "request_id": "5f0c9a3e2b7d4c1e",
                }
            ]
        }
    )

    detail: str = Field(description="what went wrong and what to do, naming the field")
    code: str = Field(description="stable machine-readable code (docs/SERVING.md)")
    request_id: str | None = None


class ItemError(BaseModel):
    status: int = Field(description="the HTTP status this item alone would have got")
    code: str
    detail: str


class BatchItem(BaseModel):
    """One conversation of a batch, in request order: ``result`` when ``ok``, else ``error``."""

    index: int
    ok: bool
    result: Classification | None = None
    error: ItemError | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]
    classified: int
    failed: int
    latency_ms: float


class ModelInfo(BaseModel):
    model_id: str
    labels: list[str]
    threshold: float
    precision: str
    compute: str = Field(description="the matrix products on this server's CPU: int8 or fp32")
    calibration: dict[str, Any]
    base_model: dict[str, Any]
    created: str | None
    loaded_at: str = Field(description="when this process loaded the model (UTC)")
    metrics: dict[str, Any] | None = Field(description="summary of metrics.json (None when absent)")
    provenance: dict[str, Any] | None = Field(description="provenance.json (None when absent)")


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    model_id: str = Field(description="id of the default model")
    models: dict[str, str] | None = Field(
        default=None, description="id of every model by name (default, live); only with a live model"
    )


class ReloadResponse(BaseModel):
    model_id: str = Field(description="id of the default model now served")
    previous_model_id: str
    live_model_id: str | None = Field(default=None, description="only with a live model")
    previous_live_model_id: str | None = Field(default=None, description="only with a live model")
    seconds: float


# -- OpenAPI helpers -------------------------------------------------------------------------------------

REF_TEMPLATE = "#/components/schemas/{model}"


def json_body_doc(
    model: type[BaseModel], examples: dict[str, Any], *, required: bool = True
) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON request body that the route reads and validates itself."""
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)},
                    "examples": {name: {"value": value} for name, value in examples.items()},
                }
            },
        }
    }


def component_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """JSON schemas of ``models`` and everything they reference, for ``components.schemas``."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out
