#!/usr/bin/env python3
"""Writes samples/exotel-call.jsonl: a 4-second Exotel call, as the WebSocket
text messages Exotel sends (one per line), with 100 ms PCM16 8 kHz chunks of
a three-tone chime. Deterministic: the same bytes every run."""
import base64
import json
import math
import struct
import sys

RATE = 8000
CHUNK_MS = 100
SECONDS = 4
CALL_SID = "CAf3a9c2e1d07b4c6e8a5f2b1d3c4e5f60"
STREAM_SID = "MZ7c1b2a3d4e5f60718293a4b5c6d7e8f9"


def sample(n):
    t = n / RATE
    tone = (440.0, 554.37, 659.25)[int(t) % 3]
    envelope = 0.5 * (1 - math.cos(2 * math.pi * (t % 1.0)))
    return int(12000 * envelope * math.sin(2 * math.pi * tone * t))


def main(path):
    messages = [
        {"event": "connected"},
        {"event": "start", "sequence_number": "1", "stream_sid": STREAM_SID,
         "start": {"stream_sid": STREAM_SID, "call_sid": CALL_SID,
                   "account_sid": "callstream-demo", "from": "+919876543210",
                   "to": "+918047112233",
                   "custom_parameters": {"campaign": "demo", "lang": "en"},
                   "media_format": {"encoding": "raw", "sample_rate": "8000",
                                    "bit_rate": "128"}}},
    ]
    seq = 2
    per_chunk = RATE * CHUNK_MS // 1000
    for chunk in range(SECONDS * 1000 // CHUNK_MS):
        pcm = b"".join(struct.pack("<h", sample(chunk * per_chunk + i))
                       for i in range(per_chunk))
        messages.append({"event": "media", "sequence_number": str(seq),
                         "stream_sid": STREAM_SID,
                         "media": {"chunk": str(chunk + 1),
                                   "timestamp": str(chunk * CHUNK_MS),
                                   "payload": base64.b64encode(pcm).decode()}})
        seq += 1
        if chunk == 19:
            messages.append({"event": "dtmf", "sequence_number": str(seq),
                             "stream_sid": STREAM_SID,
                             "dtmf": {"digit": "5", "duration": "120"}})
            seq += 1
    messages.append({"event": "mark", "sequence_number": str(seq),
                     "stream_sid": STREAM_SID, "mark": {"name": "greeting-done"}})
    seq += 1
    messages.append({"event": "stop", "sequence_number": str(seq),
                     "stream_sid": STREAM_SID,
                     "stop": {"call_sid": CALL_SID,
                              "account_sid": "callstream-demo",
                              "reason": "callended"}})
    with open(path, "w") as out:
        for message in messages:
            out.write(json.dumps(message, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "samples/exotel-call.jsonl")
