#!/usr/bin/env python3
"""Mixed load for scripts/crash-campaign.sh, and the checks after each crash.

  crash_load.py load  DEMO URL ROUND ACKS   drive writes, reads, grants, revocations and
                                            enrolments until the server stops answering;
                                            every acknowledged operation is one JSON line
                                            in ACKS, every unanswered one a "doubt" line
  crash_load.py check DEMO URL ACKS         after the restart: every acknowledged operation
                                            is on the ledger with its result, records read
                                            back, persons whole; exit 1 on the first miss

DEMO is the directory scripts/demo.sh leaves (client certificates in DEMO/https, PINs in
DEMO/secrets). PINs go only into request bodies, never into argv or the ACKS file.
"""
import base64
import http.client
import json
import os
import random
import ssl
import sys
import threading
import time


class Client:
    """One keep-alive HTTPS connection with a client certificate of DEMO/https."""

    def __init__(self, demo, url, who):
        host, port = url.removeprefix("https://").split(":")
        context = ssl.create_default_context(cafile=os.path.join(demo, "ca", "ca.pem"))
        context.load_cert_chain(os.path.join(demo, "https", who + ".pem"),
                                os.path.join(demo, "https", who + ".key"))
        self.connection = http.client.HTTPSConnection(host, int(port), context=context,
                                                      timeout=60)

    def call(self, method, path, body=None):
        """(status, JSON answer); raises OSError/HTTPException when the server is gone."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.connection.request(method, path, body=data, headers=headers)
        answer = self.connection.getresponse()
        text = answer.read()
        return answer.status, (json.loads(text) if text else {})


def pin(demo, name):
    with open(os.path.join(demo, "secrets", name + ".pin")) as f:
        return f.read().strip()


def payload_of(record_id):
    document = json.dumps({"resourceType": "Observation", "status": "final",
                           "valueString": "crash campaign " + record_id})
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def error_code(answer):
    return answer.get("error", {}).get("code", "") if isinstance(answer, dict) else ""


class Recorder:
    """Appends one JSON line per operation, flushed at once: the server may die next."""

    def __init__(self, path):
        self.file = open(path, "a")
        self.lock = threading.Lock()

    def write(self, entry):
        with self.lock:
            self.file.write(json.dumps(entry) + "\n")
            self.file.flush()


def run_operations(demo, url, who, recorder, operation, stop):
    """Runs operation(client, n) -> (kind, details, status, answer) until the server is gone."""
    client = Client(demo, url, who)
    n = 0
    while not stop.is_set():
        kind, details, request = operation(n)
        try:
            status, answer = client.call(*request)
        except (OSError, http.client.HTTPException):
            # Unanswered: it may or may not have committed (in doubt).
            recorder.write({"op": kind, "doubt": True, **details})
            stop.set()
            return
        # Writes and grants answer the receipt itself; enrolments carry it as "receipt".
        receipt = answer.get("receipt", answer) if isinstance(answer, dict) else {}
        if status in (200, 201) and "sequence" in receipt:
            recorder.write({"op": kind, **details, "sequence": receipt["sequence"],
                            "tx_id": receipt["tx_id"], "result_name": receipt["result_name"]})
        n += 1


def load(demo, url, round_id, acks_path):
    recorder = Recorder(acks_path)
    stop = threading.Event()
    dr_a, pat_a = pin(demo, "dr-a"), pin(demo, "pat-a")
    dr_b = pin(demo, "dr-b")
    written = []  # record ids acknowledged in this run (the reader reads them)

    def write(n):
        record = f"crash-{round_id}-{n}"
        written.append(record)
        body = {"record_id": record, "doctor": "hospital-a/dr-a", "patient": "hospital-a/pat-a",
                "content_type": "application/fhir+json", "payload": payload_of(record),
                "doctor_pin": dr_a, "patient_pin": pat_a}
        return "write", {"record": record}, ("POST", "/v1/records", body)

    def read(n):
        record = random.choice(written) if len(written) > 1 else "rec-1"
        body = {"doctor": "hospital-a/dr-a", "doctor_pin": dr_a, "purpose": "crash campaign"}
        return "read", {"record": record}, ("POST", f"/v1/records/{record}/read", body)

    def share(n):
        # Grant, revoke, grant, ...: every revocation rotates the patient's key.
        kind = "grant" if n % 2 == 0 else "revoke"
        path = "/v1/grants" if kind == "grant" else "/v1/grants/revoke"
        body = {"patient": "hospital-a/pat-a", "grantee": "hospital-b", "patient_pin": pat_a}
        return kind, {}, ("POST", path, body)

    def enrol(n):
        person = f"p-{round_id}-{n}"
        body = {"role": "patient", "id": person, "pin": pat_a}
        return "enrol", {"person": person}, ("POST", "/v1/persons", body)

    def read_at_b(n):
        record = random.choice(written) if len(written) > 1 else "rec-1"
        body = {"doctor": "hospital-b/dr-b", "doctor_pin": dr_b, "purpose": "crash campaign"}
        return "read", {"record": record, "reader": "b"}, ("POST", f"/v1/records/{record}/read", body)

    workers = [("his-a", write), ("his-a", write), ("his-a", read), ("his-a", share),
               ("admin-a", enrol), ("his-b", read_at_b)]
    threads = [threading.Thread(target=run_operations, args=(demo, url, who, recorder, op, stop))
               for who, op in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def fail(message):
    print("crash_load: FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def check(demo, url, acks_path):
    entries = [json.loads(line) for line in open(acks_path) if line.strip()]
    node_a, admin_a, node_b = (Client(demo, url, who) for who in ("his-a", "admin-a", "his-b"))
    acked = [e for e in entries if "sequence" in e]
    # 1. Every acknowledged operation is on the ledger, at its sequence, with its result.
    for e in acked:
        status, tx = node_a.call("GET", f"/v1/ledger/transactions/{e['sequence']}")
        if status != 200 or tx["tx_id"] != e["tx_id"] or tx["result_name"] != e["result_name"]:
            fail(f"acknowledged {e['op']} {e} is not on the ledger as answered: {status} {tx}")
    # 2. Every acknowledged record is listed; the owner's node reads each one written
    #    since the last check back, under whatever patient key version is current.
    status, listing = node_a.call("GET", "/v1/records?patient=hospital-a/pat-a")
    if status != 200:
        fail(f"listing records: {status} {listing}")
    listed = {r["record_id"] for r in listing["records"]}
    dr_a, pat_a = pin(demo, "dr-a"), pin(demo, "pat-a")
    for e in (e for e in acked if e["op"] == "write"):
        if e["record"] not in listed:
            fail(f"acknowledged record {e['record']} is not listed")
        if e.get("checked"):
            continue
        status, answer = node_a.call("POST", f"/v1/records/{e['record']}/read",
                                     {"doctor": "hospital-a/dr-a", "doctor_pin": dr_a,
                                      "purpose": "crash campaign check"})
        if status != 200 or answer.get("payload") != payload_of(e["record"]):
            fail(f"record {e['record']} does not read back: {status} {error_code(answer)}")
    # 3. Persons are whole: every acknowledged enrolment can sign with its PIN, and one in
    #    doubt is either absent (enrols now) or complete (already exists, and signs).
    digest = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    for e in (e for e in entries if e["op"] == "enrol" and ("sequence" in e or e.get("doubt"))):
        person = e["person"]
        if e.get("doubt"):
            status, answer = admin_a.call("POST", "/v1/persons",
                                          {"role": "patient", "id": person, "pin": pat_a})
            if status != 201 and error_code(answer) not in ("ALREADY_EXISTS",
                                                            "CERT_ALREADY_REGISTERED"):
                fail(f"enrolment of {person} in doubt left it half done: {status} {answer}")
        status, answer = node_a.call("POST", f"/v1/persons/{person}/sign",
                                     {"digest": digest, "pin": pat_a})
        if status != 200:
            fail(f"person {person} cannot sign after the crash: {status} {error_code(answer)}")
    # 4. The grant state is one the ledger can explain: B either reads the newest
    #    acknowledged record (granted) or is refused by the contract; never a decryption
    #    failure or a server error. (The newest: a grant carries the 16 newest patient-key
    #    versions, docs/encryption.md, and every revocation rotates the key.)
    writes = [e for e in acked if e["op"] == "write"]
    newest = max(writes, key=lambda e: e["sequence"])["record"] if writes else "rec-1"
    status, answer = node_b.call("POST", f"/v1/records/{newest}/read",
                                 {"doctor": "hospital-b/dr-b", "doctor_pin": pin(demo, "dr-b"),
                                  "purpose": "crash campaign check"})
    if status != 200 and error_code(answer) not in ("GRANT_REVOKED", "READ_NOT_AUTHORIZED"):
        fail(f"hospital B's read of {newest} after the crash: {status} {error_code(answer)}")
    # Marks what was checked, so the next round reads back only new records.
    with open(acks_path, "w") as f:
        for e in entries:
            if e["op"] == "write" and "sequence" in e:
                e["checked"] = True
            if e.get("doubt") and e["op"] == "enrol":
                e["doubt"] = False  # resolved above
            f.write(json.dumps(e) + "\n")
    print(f"crash_load: {len(acked)} acknowledged operations on the ledger "
          f"({len(writes)} writes), {sum(1 for e in entries if e.get('doubt'))} in doubt")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
