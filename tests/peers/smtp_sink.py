"""An SMTP sink for the alert tests: accepts mail on 127.0.0.1:<port>,
answers 451 (try again later) to the first --fail-first messages, and
appends every accepted message to --out as one JSON line."""

import argparse
import asyncio
import email
import json
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out, fail_first):
        self.out = out
        self.fail_first = fail_first
        self.seen = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen <= self.fail_first:
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.content)
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": message.get("Subject", ""),
            "message_id": message.get("Message-ID", ""),
            "date": message.get("Date", ""),
            "dates": len(message.get_all("Date", [])),
            "body": message.get_payload(decode=True).decode("utf-8", "replace"),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    controller = Controller(Sink(args.out, args.fail_first), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
