"""hanstack's own routes: grounded answers, structured tasks, tokenization, usage."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends

from hanstack.auth import Principal
from hanstack.server import services
from hanstack.server.deps import gateway, principal
from hanstack.server.pipeline import Job, ModelOutput, deep_map
from hanstack.server.schemas import AskRequest, TaskRequest, TokenizeRequest, UsageResponse
from hanstack.server.state import Gateway

router = APIRouter(prefix="/v1", tags=["hanstack"])


def _leaves(value: Any) -> list[str]:
    """Every string in a JSON value, in the order :func:`deep_map` visits them."""
    out: list[str] = []

    def keep(text: str) -> str:
        out.append(text)
        return text

    deep_map(value, keep)
    return out


def _replace_leaves(value: Any, texts: list[str]) -> Any:
    it = iter(texts)
    return deep_map(value, lambda _: next(it))


@router.post("/ask", summary="Grounded answer with citations and exact source spans (or an abstention)")
async def ask(req: AskRequest, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)) -> Any:
    p = gw.pipeline
    model = req.model or "auto"
    allowed = who.readable_groups
    if req.groups is not None and not set(req.groups) <= set(allowed):
        from hanstack.errors import PermissionDeniedError

        raise PermissionDeniedError(
            "this key may not read some of the requested groups", hint=f"readable: {', '.join(allowed)}"
        )
    groups = sorted(req.groups) if req.groups is not None else list(allowed)
    answerer = await p.setup_in_thread(services.answerer, gw)

    async def call(guarded: list[str]) -> ModelOutput:
        answer = await p.in_thread(
            lambda: answerer.ask(guarded[0], tenant=who.tenant, groups=groups, model=model, k=req.k)
        )
        body = services.public_paths(gw, who.tenant, answer.model_dump(mode="json"))
        # The output guard sees the generated text only: sources and quotes are the tenant's own
        # documents, verbatim, and their character spans must stay exact.
        claims = [c for key in ("claims", "removed_claims") for c in body.get(key) or []]
        texts = [body.get("text") or "", *[c.get("text") or "" for c in claims]]

        def build(out: list[str]) -> dict[str, Any]:
            body["text"] = out[0]
            for c, t in zip(claims, out[1:], strict=True):
                c["text"] = t
            return body

        used = body.get("model") or {}
        tokens = body.get("tokens") or {}
        return ModelOutput(
            texts,
            build,
            str(used.get("name") or model),
            int(tokens.get("prompt_tokens") or 0),
            int(tokens.get("completion_tokens") or 0),
        )

    job = Job(
        "ask", model, [req.question], call, params={"k": req.k, "groups": groups}, question=req.question
    )
    body, ex = await p.run(who, "/v1/ask", job)
    body = dict(body)
    body["cache"] = ex.cache
    body["request_id"] = ex.request_id
    return body


TaskName = Literal["triage", "extract", "classify", "summarize"]


@router.post("/tasks/{name}", summary="Structured Korean task: triage, extract, classify or summarize")
async def run_task(
    name: TaskName, req: TaskRequest, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    p = gw.pipeline
    model = req.model or gw.settings.models.default_tier
    backend = gw.backends.cached(model) or await p.setup_in_thread(gw.backends.get, model)

    async def call(guarded: list[str]) -> ModelOutput:
        guarded_req = req.model_copy(update={"text": guarded[0]})
        result = await p.in_thread(services.run_task, gw, name, backend, guarded_req)
        value = result.as_dict()
        texts = _leaves(value)
        chat = result.chat
        pt, ct = (chat.prompt_tokens, chat.completion_tokens) if chat is not None else (0, 0)

        def build(out: list[str]) -> dict[str, Any]:
            return {
                "task": name,
                "model": result.model,
                "result": _replace_leaves(value, out),
                "attempts": len(result.attempts),
                "truncated_input": result.truncated_input,
                "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
            }

        return ModelOutput(texts, build, result.model or model, pt, ct)

    params = req.model_dump(mode="json", exclude={"text"}, by_alias=True)
    body, _ = await p.run(who, f"/v1/tasks/{name}", Job(name, model, [req.text], call, params=params))
    return body


@router.post("/tokenize", summary="Count (and optionally list) tokens with a real model tokenizer")
async def tokenize(
    req: TokenizeRequest, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    texts = [req.text] if isinstance(req.text, str) else req.text
    body = await gw.pipeline.in_thread(services.tokenize, texts, req.tokenizer, req.tokens)
    await gw.pipeline.record(
        who,
        "/v1/tokenize",
        "tokenize",
        request={"tokenizer": req.tokenizer, "texts": len(texts)},
        response={"counts": [r["count"] for r in body["results"]]},
    )
    return body


@router.get("/tokenizers/report", summary="Token counts of one Korean sentence under every fast preset")
async def tokenizer_report(who: Principal = Depends(principal), gw: Gateway = Depends(gateway)) -> Any:
    return await gw.pipeline.in_thread(services.tokenizer_report)


@router.get("/usage", response_model=UsageResponse, summary="Usage and cost of the caller's tenant")
async def usage(who: Principal = Depends(principal), gw: Gateway = Depends(gateway)) -> UsageResponse:
    t = gw.ledger.totals(who.tenant)
    return UsageResponse(
        tenant=who.tenant,
        requests=t.requests,
        prompt_tokens=t.prompt_tokens,
        completion_tokens=t.completion_tokens,
        cost_usd=round(t.cost_usd, 8),
        cache_hits=t.cache_hits,
    )
