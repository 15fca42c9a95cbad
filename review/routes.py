"""The review page's JSON API: who am I, progress, the next item, answer, undo, disagreements."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from review.queue import MAX_NOTE_CHARS, Answer, ConflictError, Item, NotFoundError, QueueError, ReviewQueue
from review.settings import ReviewSettings
from review.status import queue_status
from serve.auth import key_matches

router = APIRouter(prefix="/api")
bearer = HTTPBearer(auto_error=False)


def get_queue(request: Request) -> ReviewQueue:
    queue: ReviewQueue = request.app.state.queue
    return queue


def reviewer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    x_reviewer: Annotated[str | None, Header()] = None,
) -> str:
    """The reviewer: the name whose key hash matches the bearer key (auth), else the X-Reviewer header."""
    settings: ReviewSettings = request.app.state.settings
    if settings.auth:
        if credentials is None:
            raise HTTPException(401, "missing API key: sign in with your key", {"WWW-Authenticate": "Bearer"})
        names = [
            n for n, digest in settings.key_hashes.items() if key_matches(credentials.credentials, [digest])
        ]
        if not names:
            raise HTTPException(401, "the API key is not valid", {"WWW-Authenticate": "Bearer"})
        return names[0]
    if not x_reviewer:
        raise HTTPException(401, "no reviewer name: type your name on the page")
    return x_reviewer


Queue = Annotated[ReviewQueue, Depends(get_queue)]
Reviewer = Annotated[str, Depends(reviewer)]


class AnswerRequest(BaseModel):
    action: Literal["label", "skip"]
    label: Literal["business_support", "general_assistance", "unsure"] | None = None
    general_turns: list[int] = Field(default_factory=list, max_length=200)
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    expected: int = Field(0, ge=0, description="event id of your current answer as the page saw it (0: none)")


def item_view(item: Item, answer: Answer | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "conv_id": item.conv_id,
        "source": item.source,
        "lang": item.lang,
        "channel": item.channel,
        "turns": item.turns,
        "profile": item.profile,
        "pre_label": item.pre_label,
        "score": item.score,
        "threshold": item.threshold,
        "model": item.model,
        "evidence": item.evidence,
        "turn_scores": item.turn_scores,
        "reasons": item.reasons,
        "answer": None if answer is None else {
            "event_id": answer.event_id, "action": answer.action, "label": answer.label,
            "general_turns": answer.general_turns, "note": answer.note, "at": answer.at,
        },
    }  # fmt: skip


def _guard(exc: QueueError) -> HTTPException:
    if isinstance(exc, ConflictError):
        return HTTPException(409, str(exc))
    if isinstance(exc, NotFoundError):
        return HTTPException(404, str(exc))
    return HTTPException(422, str(exc))


@router.get("/me")
def me(name: Reviewer, request: Request) -> dict[str, Any]:
    return {"reviewer": name, "queue": request.app.state.settings.queue.name}


@router.get("/status")
def status(queue: Queue, name: Reviewer) -> dict[str, Any]:
    result = queue_status(queue)
    result["you"] = result["reviewers"].get(name, {"labelled": 0})
    return result


@router.get("/next")
def next_item(queue: Queue, name: Reviewer, after: int = 0) -> dict[str, Any]:
    """Your next item: the first (by rank, after ``after``, wrapping) you have not answered; then the ones
    you skipped. ``{"item": null}`` when you have answered everything."""
    answers = queue.answers(name)
    items = queue.items()
    mine = {item_id: a for (item_id, _), a in answers.items()}
    ordered = [i for i in items if i.id > after] + [i for i in items if i.id <= after]
    for wanted in (lambda a: a is None, lambda a: a is not None and a.action == "skip"):
        for item in ordered:
            if wanted(mine.get(item.id)):
                return {"item": item_view(item, mine.get(item.id))}
    return {"item": None}


@router.get("/items/{item_id}")
def get_item(item_id: int, queue: Queue, name: Reviewer) -> dict[str, Any]:
    try:
        item = queue.item(item_id)
    except QueueError as exc:
        raise _guard(exc) from None
    return {"item": item_view(item, queue.answers(name).get((item_id, name)))}


@router.post("/items/{item_id}/answer")
def answer(item_id: int, body: AnswerRequest, queue: Queue, name: Reviewer) -> dict[str, Any]:
    try:
        ev = queue.record(item_id, name, body.action, label=body.label, general_turns=body.general_turns,
                          note=body.note, expected=body.expected)  # fmt: skip
    except QueueError as exc:
        raise _guard(exc) from None
    return {"event_id": ev.id, "item_id": item_id, "at": ev.at}


@router.post("/undo")
def undo(queue: Queue, name: Reviewer) -> dict[str, Any]:
    ev = queue.undo(name)
    if ev is None:
        raise HTTPException(409, "nothing to undo")
    return {"undone": ev.undoes, "item_id": ev.item_id}


@router.get("/config")
def config(request: Request) -> dict[str, Any]:
    """What the sign-in form asks for (an API key, or a name without auth); needs no credentials."""
    return {"auth": request.app.state.settings.auth}
