"""``nlptransfer serve MODEL_DIR``: a small HTTP server around a saved model, on FastAPI.

    POST /predict   {"texts": ["...", ...]} (or a bare JSON list of strings) -> one prediction per text:
                    classification {"label", "scores"}; NER {"entities": [{"text", "type", "start", "end", "score"}]}
    GET  /health    {"status": "ok"}
    GET  /info      task, labels, base model, strategy, threshold, the folder's metrics, and counters

Requests that arrive together are answered by one model call (up to ``max_batch`` texts, waiting
at most ``max_wait_ms`` for company): a transformer scores 32 texts in little more than the time
of one. Every client error is a 4xx with a message: unreadable JSON and wrong types 422, a body
over ``max_body_bytes`` 413; nothing a client sends produces a traceback.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

# At module level: FastAPI reads the handlers' annotations by name, so Request must be a global.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..evaluation.harness import predicted_labels

__all__ = ["build_app"]


class Batcher:
    """Collects texts from concurrent requests and predicts them in one call, in a worker thread
    (the event loop stays free to accept requests while the model runs)."""

    def __init__(self, predict, max_batch: int, max_wait_ms: float):
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.queue: asyncio.Queue | None = None
        self.batches = self.texts = 0

    async def submit(self, texts: list[str]) -> list:
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._work())
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0][0])
            deadline = loop.time() + self.max_wait
            while size < self.max_batch and (left := deadline - loop.time()) > 0:
                try:
                    job = await asyncio.wait_for(self.queue.get(), left)
                except asyncio.TimeoutError:
                    break
                jobs.append(job)
                size += len(job[0])
            texts = [t for job_texts, _ in jobs for t in job_texts]
            try:
                results = await loop.run_in_executor(None, self.predict, texts)
            except Exception as error:  # the model failed: every waiting request gets the error
                for _, future in jobs:
                    future.set_exception(error)
                continue
            self.batches, self.texts = self.batches + 1, self.texts + len(texts)
            start = 0
            for job_texts, future in jobs:
                future.set_result(results[start:start + len(job_texts)])
                start += len(job_texts)


def _predictor(model):
    if model.task == "ner":
        return lambda texts: [{"entities": entities} for entities in model.predict(texts)]

    def classify(texts):  # one forward pass: the labels come from the same probabilities
        proba = model.predict_proba(texts)
        labels = predicted_labels(proba, model.classes_, model.positive_label_, model.threshold_)
        return [{"label": label, "scores": {c: round(float(p), 6) for c, p in zip(model.classes_, row)}}
                for label, row in zip(labels, proba)]

    return classify


def _info(model, folder: Path) -> dict:
    metrics = {}
    for path in sorted(folder.glob("metrics-*.json")):
        data = json.loads(path.read_text())
        metrics[path.stem.removeprefix("metrics-")] = {k: v for k, v in data.items() if isinstance(v, (int, float))}
    meta = json.loads((folder / "nlptransfer.json").read_text())
    return {"task": model.task, "labels": list(model.classes_), "model": meta["model"], "strategy": meta["strategy"],
            "threshold": meta.get("threshold"), "positive_label": meta.get("positive_label"), "metrics": metrics}


def build_app(model_dir, *, max_texts: int = 256, max_text_chars: int = 100_000, max_body_bytes: int = 2_000_000,
              max_batch: int = 64, max_wait_ms: float = 5.0):
    from ..estimators.fitted import load

    folder = Path(model_dir)
    model = load(folder)
    info = _info(model, folder)
    batcher = Batcher(_predictor(model), max_batch, max_wait_ms)
    app = FastAPI(title=f"nlptransfer {model.task}", version="1")
    usage = f'Send {{"texts": ["..."]}} (or a JSON list of strings) with 1 to {max_texts} strings.'

    def refuse(message: str, status: int = 422):
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        declared = request.headers.get("content-length")
        size = len(await request.body()) if declared is None or not declared.isdigit() else int(declared)
        if size > max_body_bytes:
            return refuse(f"request body over {max_body_bytes} bytes; send fewer texts per request", 413)
        return await call_next(request)

    @app.exception_handler(Exception)
    async def failed(_, error: Exception):  # never a traceback to the client
        return refuse(f"prediction failed: {type(error).__name__}", 500)

    @app.post("/predict")
    async def predict(request: Request):
        # Read by hand rather than through a pydantic model: every malformed body gets one plain
        # message that says what to send, instead of a validation dump.
        try:
            payload = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return refuse(f"bad request: the body is not JSON ({error}). {usage}")
        texts = payload.get("texts") if isinstance(payload, dict) else payload
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return refuse(f"bad request: texts must be a list of strings. {usage}")
        if not 1 <= len(texts) <= max_texts:
            return refuse(f"bad request: {len(texts)} texts. {usage}")
        too_long = [i for i, t in enumerate(texts) if len(t) > max_text_chars]
        if too_long:
            return refuse(f"texts {too_long[:5]} are over {max_text_chars} characters", 413)
        return {"predictions": await batcher.submit(texts)}

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/info")
    async def about():
        return {**info, "served": {"batches": batcher.batches, "texts": batcher.texts}}

    return app
