"""nlptransfer serve: a real server process on localhost, real HTTP requests."""
import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from nlptransfer import TextClassifier, TrainConfig, load

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body=None, raw: bytes | None = None, headers=None, attempts: int = 3):
    """(status, JSON body) of a real HTTP request. A server that refuses an oversized body answers
    413 from its headers and closes the connection while the client may still be writing: the
    write then fails with a broken pipe, and the answer can be lost to the reset. That is the
    client's side of a correct refusal, so it is tried again (a real client would see the same)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    parts = urllib.parse.urlsplit(url)
    for attempt in range(attempts):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            try:
                connection.request("POST" if data is not None else "GET", parts.path, body=data,
                                   headers={"Content-Type": "application/json", **(headers or {})})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before reading everything; its answer is read below
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        except (ConnectionResetError, http.client.RemoteDisconnected):
            if attempt == attempts - 1:
                raise
        finally:
            connection.close()


@pytest.fixture(scope="module")
def server(tiny_models, assets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve") / "model"
    TextClassifier(tiny_models["bert"], "spam", "frozen", output_dir=str(folder.parent / "run"),
                   training=TrainConfig(max_length=32, progress=False)).fit(assets / "spam_train.csv").save(folder)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "nlptransfer", "serve", str(folder), "--port", str(port),
                                "--max-texts", "50"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if _call(url + "/health") == (200, {"status": "ok"}):
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("server did not start: " + process.stdout.read()[-2000:])
    yield url, load(folder)
    process.terminate()
    process.wait(30)


TEXTS = ["WIN a FREE prize now", "see you at 7", "call now to claim", "lunch tomorrow?"]


def test_predictions_match_the_model_and_concurrent_requests_share_batches(server):
    url, model = server
    status, body = _call(url + "/predict", {"texts": TEXTS})
    assert status == 200
    assert [p["label"] for p in body["predictions"]] == model.predict(TEXTS)
    proba = model.predict_proba(TEXTS)
    for row, p in zip(proba, body["predictions"]):
        assert p["scores"] == pytest.approx(dict(zip(model.classes_, row.tolist())), abs=1e-5)
    assert _call(url + "/predict", TEXTS[:1])[1]["predictions"][0]["label"] == model.predict(TEXTS[:1])[0]  # bare list

    before = _call(url + "/info")[1]["served"]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda t: _call(url + "/predict", {"texts": [t]}), TEXTS * 8))
    assert all(status == 200 for status, _ in answers)
    assert [a["predictions"][0]["label"] for _, a in answers] == model.predict(TEXTS * 8)  # each its own answer
    after = _call(url + "/info")[1]["served"]
    assert after["texts"] - before["texts"] == 32
    assert after["batches"] - before["batches"] < 32  # requests that came together were answered together


def test_info_describes_the_model(server):
    url, model = server
    status, info = _call(url + "/info")
    assert status == 200 and info["task"] == "spam" and info["labels"] == list(model.classes_)
    assert info["positive_label"] == "spam" and info["strategy"] == "frozen"


@pytest.mark.parametrize("raw, code, words", [
    (b"{not json", 422, "bad request"),
    (json.dumps({"texts": "just one string"}).encode(), 422, "bad request"),
    (json.dumps({"texts": [1, 2]}).encode(), 422, "bad request"),
    (json.dumps({"texts": []}).encode(), 422, "1 to 50"),
    (json.dumps({"texts": ["x"] * 51}).encode(), 422, "1 to 50"),
    (json.dumps({"texts": ["x" * 100_001]}).encode(), 413, "characters"),
    (json.dumps({"texts": ["x" * 1000] * 2100}).encode(), 413, "bytes"),
])
def test_bad_requests_get_a_4xx_with_a_message(server, raw, code, words):
    url, _ = server
    status, body = _call(url + "/predict", raw=raw)
    assert status == code and words in body["error"]
    assert "Traceback" not in json.dumps(body)
    assert _call(url + "/health")[0] == 200  # and the server keeps serving


def test_serve_names_a_folder_that_is_not_a_model(tmp_path):
    result = subprocess.run([sys.executable, "-m", "nlptransfer", "serve", str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "not a saved nlptransfer model" in result.stderr
