"""The official openai Python client, unmodified, against `anemll serve` (driven by
openai-python.test.ts). Usage counts are checked against the `tokenizers` package.

usage: openai_client.py BASE_URL MODEL TOKENIZER_JSON MODE [API_KEY]
MODE: main (models, chat, streams, completions, stop, seed, usage, 404, 400), 429, 401
Prints one JSON object with what it saw; fails (exit 1) on the first mismatch."""
import json
import sys

import openai
from tokenizers import Tokenizer

base_url, model, tokenizer_json, mode = sys.argv[1:5]
key = sys.argv[5] if len(sys.argv) > 5 else "unused"
client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
tok = Tokenizer.from_file(tokenizer_json)
out = {}


def expect_error(cls, call):
    try:
        call()
    except cls as e:
        return e
    raise AssertionError(f"expected {cls.__name__}")


if mode == "main":
    out["models"] = [m.id for m in client.models.list().data]
    prompt = "Once upon a time, there was a little"
    c = client.completions.create(model=model, prompt=prompt, max_tokens=20, temperature=0)
    # a raw prompt gets the tokenizer's BOS, as `tokenizers` adds it
    assert c.usage.prompt_tokens == len(tok.encode(prompt).ids), (c.usage, tok.encode(prompt).ids)
    assert c.usage.completion_tokens == 20 and c.choices[0].finish_reason == "length"
    out["completion"] = c.choices[0].text
    streamed = "".join(
        ch.choices[0].text
        for ch in client.completions.create(model=model, prompt=prompt, max_tokens=20, temperature=0, stream=True)
    )
    assert streamed == c.choices[0].text, (streamed, c.choices[0].text)

    messages = [{"role": "user", "content": "Once upon a time, there was a big dog"}]
    r = client.chat.completions.create(model=model, messages=messages, max_tokens=30, temperature=0)
    # stories260K has no chat template: one user message is its text, with BOS
    assert r.usage.prompt_tokens == len(tok.encode(messages[0]["content"]).ids)
    reply = r.choices[0].message.content
    chunks = list(
        client.chat.completions.create(
            model=model, messages=messages, max_tokens=30, temperature=0, stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == reply
    assert chunks[-1].usage.completion_tokens == r.usage.completion_tokens
    assert r.usage.completion_tokens == 30 and r.choices[0].finish_reason == "length"
    out["chat"] = reply

    stop = reply[len(reply) // 2 : len(reply) // 2 + 3]
    s = client.chat.completions.create(model=model, messages=messages, max_tokens=30, temperature=0, stop=stop)
    assert s.choices[0].finish_reason == "stop", s.choices[0]
    assert s.choices[0].message.content == reply[: reply.index(stop)], (reply, stop, s.choices[0])

    ask = lambda seed: client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Once upon a time"}], max_tokens=24,
        temperature=1, seed=seed,
    ).choices[0].message.content
    a, b, d = ask(3), ask(3), ask(4)
    assert a == b and a != d, (a, b, d)

    e = expect_error(openai.NotFoundError, lambda: client.chat.completions.create(model="nope", messages=messages))
    assert e.code == "model_not_found"
    e = expect_error(
        openai.BadRequestError,
        lambda: client.chat.completions.create(model=model, messages=messages, temperature="hot"),
    )
    assert e.param == "temperature", e.param
    e = expect_error(openai.BadRequestError, lambda: client.chat.completions.create(model=model, messages=[]))
    out["errors"] = "ok"
elif mode == "429":
    e = expect_error(openai.RateLimitError, lambda: client.completions.create(model=model, prompt="Once", max_tokens=3))
    out["retry_after"] = e.response.headers.get("retry-after")
elif mode == "401":
    expect_error(openai.AuthenticationError, lambda: client.models.list())
    out["401"] = "ok"
print(json.dumps(out))
