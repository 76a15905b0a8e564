#!/usr/bin/python3
"""Independent cross-check of hookbridge's Kafka records with python3-avro.

Two subcommands, both given the same input files in the same order:

  post   wraps each file's events into one Okta event hook envelope whose
         eventId is the file name, and POSTs it; every POST must answer 200.
  check  decodes every raw okta.events record (from `hookbridge consume --raw`)
         with the `avro` package and the schema from `hookbridge schema`,
         rebuilds the Okta event JSON from the Avro datum on its own, and
         compares it with the Go decoder's output (`hookbridge consume`) and
         with the input event. Dead-letter records are checked the same way
         against the inputs expected to be dead-lettered.

Only the standard library and the `avro` package are used. Nothing here calls
into or copies hookbridge's Go code: the mapping rules are re-implemented from
their description (schema/model.go, schema/okta.go, schema/avsc.go).

Numbers compare as exact decimals: input numbers are parsed as Decimal, Avro
longs become Decimal(int) and Avro doubles Decimal(repr(float)), so 39.0469 in
the input equals the double 39.0469 and 0.00 equals 0.0. Types compare
strictly: true is not 1.
"""

import argparse
import base64
import calendar
import datetime
import io
import json
import os
import re
import sys
import time
import traceback
import urllib.error
import urllib.request
from decimal import Decimal

ENVELOPE_EVENT_TIME = "2026-01-01T00:00:00.000Z"
SOURCE = "okta"
MAX_SHOWN = 8  # failures printed in full

# ---------------------------------------------------------------------------
# JSON helpers


class JObj(dict):
    """A JSON object, later duplicate keys winning, that remembers which keys
    occurred more than once."""

    dups = frozenset()


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _fix(s):
    # json.loads pairs valid \ud83d\ude00 escapes into one character, so any
    # surrogate left in a str is a lone one (or an undecodable byte kept by
    # surrogateescape, one per byte). hookbridge replaces each of those with
    # U+FFFD before parsing; expect the same.
    return _LONE_SURROGATE.sub("\ufffd", s)


def _pairs_hook(pairs):
    o = JObj()
    seen = set()
    dups = set()
    for k, v in pairs:
        k = _fix(k)
        if k in seen:
            dups.add(k)
        seen.add(k)
        o[k] = v
    if dups:
        o.dups = frozenset(dups)
    return o


def _fix_strings(v):
    if isinstance(v, str):
        return _fix(v)
    if isinstance(v, list):
        return [_fix_strings(x) for x in v]
    if isinstance(v, JObj):
        for k in list(v.keys()):
            v[k] = _fix_strings(v[k])
    return v


def loads(text):
    """Parse JSON with exact decimal numbers and last-wins objects."""
    v = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_pairs_hook)
    return _fix_strings(v)


def diff(a, b, path="$"):
    """Return None when a and b are the same JSON value, else where and how
    they differ. Types are strict: bool, Decimal, str, None, dict, list."""
    kinds = (bool, Decimal, str, type(None), dict, list)

    def kind(x):
        for k in kinds:
            if isinstance(x, k):
                return k
        return type(x)

    ka, kb = kind(a), kind(b)
    if ka is not kb:
        return f"{path}: {short(a)} ({ka.__name__}) != {short(b)} ({kb.__name__})"
    if ka is dict:
        for k in a:
            if k not in b:
                return f"{path}: member {k!r} only in the first ({short(a[k])})"
        for k in b:
            if k not in a:
                return f"{path}: member {k!r} only in the second ({short(b[k])})"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if ka is list:
        if len(a) != len(b):
            return f"{path}: array of {len(a)} != array of {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if a != b:
        return f"{path}: {short(a)} != {short(b)}"
    return None


def short(v, n=160):
    s = dumps(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def dumps(v):
    """Compact JSON text of a parsed value, Decimals as they were spelled."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    try:
        return json.dumps(v, ensure_ascii=False)
    except TypeError:
        return repr(v)


# ---------------------------------------------------------------------------
# Reading the inputs: raw text spans, so the posted bytes are the file's bytes


_dec = json.JSONDecoder()
_WS = " \t\n\r"


def _ws(s, i):
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _scan(s, i):
    """Scan the JSON value at s[i]. Returns (end, node): node is
    ("object", [(key, start, end, node)]), ("array", [(start, end, node)])
    or ("scalar", None)."""
    c = s[i]
    if c == "{":
        members = []
        i = _ws(s, i + 1)
        if s[i] == "}":
            return i + 1, ("object", members)
        while True:
            key, i = _dec.raw_decode(s, i)
            i = _ws(s, i)
            if s[i] != ":":
                raise ValueError(f"expected ':' at offset {i}")
            start = _ws(s, i + 1)
            end, node = _scan(s, start)
            members.append((key, start, end, node))
            i = _ws(s, end)
            if s[i] == ",":
                i = _ws(s, i + 1)
                continue
            if s[i] != "}":
                raise ValueError(f"expected ',' or '}}' at offset {i}")
            return i + 1, ("object", members)
    if c == "[":
        items = []
        i = _ws(s, i + 1)
        if s[i] == "]":
            return i + 1, ("array", items)
        while True:
            end, node = _scan(s, i)
            items.append((i, end, node))
            i = _ws(s, end)
            if s[i] == ",":
                i = _ws(s, i + 1)
                continue
            if s[i] != "]":
                raise ValueError(f"expected ',' or ']' at offset {i}")
            return i + 1, ("array", items)
    _, end = _dec.raw_decode(s, i)
    return end, ("scalar", None)


def _member(node, key):
    """The last member named key of an object node, as (start, end, node)."""
    found = None
    if node[0] == "object":
        for k, start, end, child in node[1]:
            if k == key:
                found = (start, end, child)
    return found


def read_input(path):
    """Return the raw texts of the events of one input file: the elements of
    its top-level array, an envelope element (data.events) contributing its
    events."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    start = _ws(text, 0)
    end, node = _scan(text, start)
    if _ws(text, end) != len(text):
        raise ValueError(f"{path}: trailing data after the JSON value")
    if node[0] != "array":
        raise ValueError(f"{path}: not a JSON array")
    events = []
    for s, e, child in node[1]:
        data = _member(child, "data")
        evs = _member(data[2], "events") if data else None
        if evs and evs[2][0] == "array":
            events.extend(text[a:b] for a, b, _ in evs[2][1])
        else:
            events.append(text[s:e])
    return events


def envelope(name, events):
    body = (
        '{"eventType":"com.okta.event_hook","eventId":' + json.dumps(name)
        + ',"eventTime":' + json.dumps(ENVELOPE_EVENT_TIME)
        + ',"data":{"events":[' + ",".join(events) + "]}}"
    )
    return body.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# Timestamps: RFC 3339, or the zone-less / space-separated forms read as UTC


_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})?$"
)


def parse_time(s):
    """Unix milliseconds of an Okta timestamp, or None when it does not parse."""
    m = _TIME.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.datetime(y, mo, d, h, mi, se)
    except ValueError:
        return None
    frac, zone = m.group(7) or "", m.group(8)
    offset = 0
    if zone and zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            return None
        offset = (zh * 60 + zm) * (1 if zone[0] == "+" else -1)
    secs = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) - offset * 60
    return secs * 1000 + int((frac + "000")[:3])


def dead_reason(ev):
    """Why hookbridge must send ev to the dead-letter topic, or None.
    A key present more than once counts as missing."""
    if not isinstance(ev, dict):
        return "not_object"

    def single_string(k):
        if k in ev.dups or not isinstance(ev.get(k), str):
            return None
        return ev[k]

    if not single_string("uuid"):
        return "missing_uuid"
    pub = single_string("published")
    if pub is None:
        return "missing_published"
    if parse_time(pub) is None:
        return "bad_published"
    return None


# ---------------------------------------------------------------------------
# Avro: Parsing Canonical Form and the CRC-64-AVRO (Rabin) fingerprint,
# implemented from the Avro specification. Debian 12's python-avro (1.11.1) has
# Schema.canonical_form but no fingerprint function, and its canonical form
# keeps logical primitives as {"type":"long"} where the spec (and Java's
# SchemaNormalization) writes "long"; so both are implemented here, and the
# canonical form is checked against python-avro's on the schema with its
# logicalType attributes removed (Checker.self_test).

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_EMPTY64 = 0xC15D213AA4D7A795
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY64 & -(_fp & 1))
    _TABLE.append(_fp)


def rabin64(data):
    fp = _EMPTY64
    for b in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ b) & 0xFF]
    return fp


# Test vector of the specification's reference implementation: "null".
assert rabin64(b'"null"') == 7195948357588979594, "CRC-64-AVRO self-test failed"


def _fullname(name, ns):
    if "." in name or not ns:
        return name
    return ns + "." + name


def canonical_form(schema, keep_logical=False):
    """Parsing Canonical Form of a schema (parsed JSON), per the spec:
    [PRIMITIVES] [FULLNAMES] [STRIP] [ORDER] [STRINGS] [INTEGERS] [WHITESPACE].
    keep_logical=True keeps logicalType on primitives; that is NOT the spec,
    only a diagnostic (it is what some libraries produce)."""
    seen = set()

    def q(s):
        return json.dumps(s, ensure_ascii=False)

    def pcf(s, ns):
        if isinstance(s, str):
            return q(s) if s in _PRIMITIVES else q(_fullname(s, ns))
        if isinstance(s, list):
            return "[" + ",".join(pcf(x, ns) for x in s) + "]"
        t = s["type"]
        if isinstance(t, (dict, list)):
            return pcf(t, ns)
        if t in _PRIMITIVES:
            if keep_logical and "logicalType" in s:
                return '{"type":' + q(t) + ',"logicalType":' + q(s["logicalType"]) + "}"
            return q(t)
        if t in ("record", "error", "enum", "fixed"):
            full = _fullname(s["name"], s.get("namespace", ns))
            if full in seen:
                return q(full)
            seen.add(full)
            inner = full.rpartition(".")[0]
            out = '{"name":' + q(full) + ',"type":' + q("record" if t == "error" else t)
            if t in ("record", "error"):
                out += ',"fields":[' + ",".join(
                    '{"name":' + q(f["name"]) + ',"type":' + pcf(f["type"], inner) + "}" for f in s["fields"]
                ) + "]"
            elif t == "enum":
                out += ',"symbols":[' + ",".join(q(x) for x in s["symbols"]) + "]"
            else:
                out += ',"size":' + str(int(s["size"]))
            return out + "}"
        if t == "array":
            return '{"type":"array","items":' + pcf(s["items"], ns) + "}"
        if t == "map":
            return '{"type":"map","values":' + pcf(s["values"], ns) + "}"
        return q(_fullname(t, ns))  # a named type referenced as {"type": "Name"}

    return pcf(schema, "")


def fingerprint(text):
    return rabin64(text.encode("utf-8")).to_bytes(8, "little")


# ---------------------------------------------------------------------------
# Rebuilding the Okta event from a decoded LogEvent datum

# Fields of kind JSON (JSON text in an Avro string), per schema/okta.go. Every
# other ["null","string"] field is a plain string. The schema's docs are checked
# against this list so that a new JSON field cannot slip by unnoticed.
JSON_FIELDS = {
    "Actor": {"detailEntry"},
    "Target": {"detailEntry", "changeDetails"},
    "Device": {"device_integrator"},
    "Transaction": {"detail"},
    "DebugContext": {"debugData"},
    "SecurityContext": {"userBehaviors"},
}
ABSENT, EXTRA, DELIVERY, TIME_SUFFIX = "_absent", "_extra", "hookbridge", "Time"


class Mismatch(Exception):
    pass


class Model:
    def __init__(self, schema_json):
        self.root = schema_json
        # What the rebuilt records exercised, printed as a coverage summary.
        self.stats = dict.fromkeys(("_absent names", "_extra members", "JSON-text fields",
                                    "doubles", "longs", "booleans", "parsed timestamps"), 0)
        self.named = {}
        self._collect(schema_json, "")
        self._check_json_fields()

    def _collect(self, s, ns):
        if isinstance(s, list):
            for x in s:
                self._collect(x, ns)
        elif isinstance(s, dict):
            t = s.get("type")
            if t in ("record", "error"):
                full = _fullname(s["name"], s.get("namespace", ns))
                self.named[full] = s
                self.named.setdefault(s["name"], s)
                inner = full.rpartition(".")[0]
                for f in s["fields"]:
                    self._collect(f["type"], inner)
            elif t == "array":
                self._collect(s["items"], ns)
            elif isinstance(t, (dict, list)):
                self._collect(t, ns)

    def resolve(self, t):
        if isinstance(t, str) and t not in _PRIMITIVES:
            if t not in self.named:
                raise Mismatch(f"schema refers to unknown type {t}")
            return self.named[t]
        if isinstance(t, dict) and isinstance(t.get("type"), str) and t["type"] in self.named:
            return self.named[t["type"]]
        return t

    def _check_json_fields(self):
        found = {}
        for name, rec in self.named.items():
            if "." in name:
                continue
            for f in rec["fields"]:
                if f["name"] == EXTRA:
                    continue
                if "JSON text" in (f.get("doc") or ""):
                    found.setdefault(rec["name"], set()).add(f["name"])
        if found != JSON_FIELDS:
            raise SystemExit(
                "crosscheck.py is out of date: fields documented as JSON text are "
                f"{sorted((k, sorted(v)) for k, v in found.items())}, the script knows "
                f"{sorted((k, sorted(v)) for k, v in JSON_FIELDS.items())}"
            )

    def rebuild(self, rec, datum, path="$", top=False):
        """The JSON object rec (a record schema) was encoded from."""
        fields = rec["fields"]
        names = [f["name"] for f in fields]
        tail = [ABSENT, EXTRA, DELIVERY] if top else [ABSENT, EXTRA]
        if names[-len(tail):] != tail:
            raise Mismatch(f"{path}: record {rec['name']} does not end with {tail}")
        if set(datum) != set(names):
            raise Mismatch(f"{path}: datum members {sorted(datum)} are not the fields {names}")
        typed = fields[: -len(tail)]
        absent = datum[ABSENT]
        if not isinstance(absent, list) or len(set(absent)) != len(absent):
            raise Mismatch(f"{path}: bad _absent {absent!r}")
        json_fields = JSON_FIELDS.get(rec["name"], set())
        out = {}
        i = 0
        while i < len(typed):
            f = typed[i]
            name = f["name"]
            twin = typed[i + 1] if i + 1 < len(typed) else None
            is_ts = twin is not None and twin["name"] == name + TIME_SUFFIX and _is_timestamp_millis(twin["type"])
            i += 2 if is_ts else 1
            v = datum[name]
            if is_ts:
                self._check_time(v, datum[twin["name"]], f"{path}.{twin['name']}")
                self.stats["parsed timestamps"] += datum[twin["name"]] is not None
            if v is None:
                if name not in absent:
                    out[name] = None
                continue
            if name in absent:
                raise Mismatch(f"{path}.{name} is listed in _absent but holds {short(v)}")
            out[name] = self.value(f["type"], v, f"{path}.{name}", name in json_fields)
        known = {f["name"] for f in typed}
        for a in absent:
            if a not in known:
                raise Mismatch(f"{path}: _absent names {a!r}, which is no field of {rec['name']}")
        extra = datum[EXTRA]
        if extra is not None:
            try:
                members = loads(extra)
            except ValueError as e:
                raise Mismatch(f"{path}._extra is not JSON ({e}): {extra[:200]!r}")
            if not isinstance(members, dict):
                raise Mismatch(f"{path}._extra is not a JSON object: {extra[:200]!r}")
            out.update(members)  # in order, later keys winning
            self.stats["_extra members"] += len(members)
        self.stats["_absent names"] += len(absent)
        return out

    def value(self, t, v, path, is_json):
        if isinstance(t, list):  # ["null", T]; v is not None here
            branches = [b for b in t if b != "null"]
            if len(branches) != 1 or len(t) != 2:
                raise Mismatch(f"{path}: unexpected union {t}")
            t = branches[0]
        t = self.resolve(t)
        tname = t if isinstance(t, str) else t.get("type")
        if tname == "string":
            if not isinstance(v, str):
                raise Mismatch(f"{path}: string field holds {type(v).__name__}")
            if is_json:
                self.stats["JSON-text fields"] += 1
                try:
                    return loads(v)
                except ValueError as e:
                    raise Mismatch(f"{path}: JSON field holds invalid JSON ({e}): {v[:200]!r}")
            return v
        if tname == "long":
            if isinstance(t, dict) and "logicalType" in t:
                raise Mismatch(f"{path}: logical long outside a timestamp pair")
            if not isinstance(v, int) or isinstance(v, bool):
                raise Mismatch(f"{path}: long field holds {type(v).__name__}")
            self.stats["longs"] += 1
            return Decimal(v)
        if tname == "double":
            if not isinstance(v, float):
                raise Mismatch(f"{path}: double field holds {type(v).__name__}")
            if v != v or v in (float("inf"), float("-inf")):
                raise Mismatch(f"{path}: double {v!r} is no JSON number")
            self.stats["doubles"] += 1
            return Decimal(repr(v))
        if tname == "boolean":
            if not isinstance(v, bool):
                raise Mismatch(f"{path}: boolean field holds {type(v).__name__}")
            self.stats["booleans"] += 1
            return v
        if tname in ("record", "error"):
            return self.rebuild(t, v, path)
        if tname == "array":
            if not isinstance(v, list):
                raise Mismatch(f"{path}: array field holds {type(v).__name__}")
            return [self.value(t["items"], x, f"{path}[{k}]", False) for k, x in enumerate(v)]
        raise Mismatch(f"{path}: unexpected schema type {t}")

    @staticmethod
    def _check_time(text, parsed, path):
        want = parse_time(text) if isinstance(text, str) else None
        got = None
        if parsed is not None:
            if not isinstance(parsed, datetime.datetime):
                raise Mismatch(f"{path}: timestamp-millis decoded as {type(parsed).__name__}")
            epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            got = (parsed - epoch) // datetime.timedelta(milliseconds=1)
        if got != want:
            raise Mismatch(f"{path}: {got} ms, but {text!r} is {want} ms")


def _is_timestamp_millis(t):
    if isinstance(t, list):
        rest = [b for b in t if b != "null"]
        return len(rest) == 1 and _is_timestamp_millis(rest[0])
    return isinstance(t, dict) and t.get("type") == "long" and t.get("logicalType") == "timestamp-millis"


# ---------------------------------------------------------------------------
# check


class Input:
    def __init__(self, file, index, text):
        self.file = file
        self.name = os.path.basename(file)
        self.index = index
        self.text = text
        try:
            self.value = loads(text)
            self.error = None
        except ValueError as e:
            self.value, self.error = None, str(e)
        self.reason = dead_reason(self.value) if self.error is None else "invalid_json"
        self.uuid = self.value.get("uuid") if isinstance(self.value, dict) else None
        self.matched = False

    def where(self):
        return f"{self.name} event #{self.index} (uuid {self.uuid!r})"


def load_inputs(files):
    out = []
    for f in files:
        for i, t in enumerate(read_input(f)):
            out.append(Input(f, i, t))
    return out


def read_lines(path):
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                out.append((n, line))
    return out


def offset_of(line_obj):
    k = line_obj.get("_kafka") if isinstance(line_obj, dict) else None
    if not isinstance(k, dict):
        return None
    return (k.get("partition"), k.get("offset"))


def decode_body(schema, body):
    import avro.io  # imported here so that `post` runs without avro

    bio = io.BytesIO(body)
    datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(bio))
    left = len(body) - bio.tell()
    if left:
        raise Mismatch(f"{left} bytes left after the Avro body")
    return datum


class Checker:
    def __init__(self, args):
        import avro.schema

        self.failures = []
        self.passed = 0
        with open(args.schema, encoding="utf-8") as f:
            text = f.read()
        self.schema_json = json.loads(text)
        self.schema = avro.schema.parse(text)
        self.model = Model(self.schema_json)
        with open(args.dead_schema, encoding="utf-8") as f:
            dtext = f.read()
        self.dead_json = json.loads(dtext)
        self.dead_schema = avro.schema.parse(dtext)
        self.fp = fingerprint(canonical_form(self.schema_json))
        self.dead_fp = fingerprint(canonical_form(self.dead_json))
        # Other fingerprints of the same schema, only to say what a wrong
        # header fingerprint was computed from.
        self.fp_variants = {}
        for sj in (self.schema_json, self.dead_json):
            self.fp_variants[fingerprint(canonical_form(sj, keep_logical=True))] = (
                "a canonical form that keeps logicalType attributes, against the spec's [STRIP] "
                'rule (e.g. {"type":"long","logicalType":"timestamp-millis"} instead of "long")')
            lib_cf = getattr(avro.schema.parse(json.dumps(sj)), "canonical_form", None)
            if isinstance(lib_cf, str):
                self.fp_variants.setdefault(fingerprint(lib_cf), "python-avro's canonical_form")
        self.self_test(avro.schema)

    def self_test(self, avro_schema):
        """Check this script's canonical form against python-avro's. python-avro
        1.11 writes a logical primitive as {"type":"long"} instead of the spec's
        "long", so compare on the schemas with logicalType removed, where both
        must agree."""
        def strip(x):
            if isinstance(x, dict):
                return {k: strip(v) for k, v in x.items() if k != "logicalType"}
            if isinstance(x, list):
                return [strip(v) for v in x]
            return x

        for sj in (self.schema_json, self.dead_json):
            lib = getattr(avro_schema.parse(json.dumps(strip(sj))), "canonical_form", None)
            if not isinstance(lib, str):
                print("crosscheck: note: this python-avro has no canonical_form; "
                      "the canonical form is not cross-checked", file=sys.stderr)
                return
            if lib != canonical_form(sj):
                self.fail("canonical form self-test", [("self-test", (
                    f"this script's Parsing Canonical Form of {sj.get('name')} differs from "
                    f"python-avro's:\n      mine: {canonical_form(sj)[:300]}\n      lib:  {lib[:300]}"))])

    def fail(self, what, problems, text=None):
        """Record a failure: problems is a message or a list of (kind, message)."""
        if isinstance(problems, str):
            problems = [("other", problems)]
        self.failures.append((what, problems, text))

    def check_header(self, value, want_fp):
        if len(value) < 10 or value[0] != 0xC3 or value[1] != 0x01:
            raise Mismatch(f"value does not start with the single-object header C3 01: {value[:10].hex()}")
        got = bytes(value[2:10])
        if got != want_fp:
            msg = (f"fingerprint {got.hex()} != {want_fp.hex()}, the CRC-64-AVRO of the schema's "
                   "Parsing Canonical Form")
            if got in self.fp_variants:
                msg += f"; it is the CRC-64-AVRO of {self.fp_variants[got]}"
            raise Mismatch(msg)

    def run(self, args):
        inputs = load_inputs(args.files)
        raw = read_lines(args.raw)
        decoded = read_lines(args.decoded)
        print(f"crosscheck: {len(inputs)} input events in {len(args.files)} files; "
              f"{len(raw)} raw and {len(decoded)} decoded okta.events records", file=sys.stderr)
        for inp in inputs:
            if inp.error:
                self.fail(inp.where(), f"input is not valid JSON: {inp.error}")

        decoded_by_offset = {}
        for n, line in decoded:
            try:
                obj = loads(line)
            except ValueError as e:
                self.fail(f"consume output line {n}", f"not JSON: {e}")
                continue
            decoded_by_offset[offset_of(obj)] = obj
        if len(decoded) != len(raw):
            self.fail("okta.events", f"consume printed {len(decoded)} decoded records but {len(raw)} raw ones")

        pos = 0
        for n, line in raw:
            pos = self.check_record(n, line, inputs, pos, decoded_by_offset)
        for inp in inputs:
            if inp.reason is None and not inp.matched:
                self.fail(inp.where(), "no okta.events record holds this event")

        print("crosscheck: rebuilt values: " + ", ".join(f"{k} {n}" for k, n in self.model.stats.items()),
              file=sys.stderr)
        self.check_dead(args, inputs)

        if args.consume_failed:
            self.fail("hookbridge consume", "a consume run exited non-zero (see its message above)")

    def check_record(self, n, line, inputs, pos, decoded_by_offset):
        where = f"okta.events raw line {n}"
        try:
            meta = json.loads(line)
            off = offset_of(meta)
            where = f"okta.events offset {off[1]}"
            kafka = meta["_kafka"]
            value = base64.b64decode(meta["value_base64"], validate=True)
        except (ValueError, KeyError, TypeError) as e:
            self.fail(where, f"bad --raw line: {e}")
            return pos
        problems = []
        datum = None
        event = None
        try:
            self.check_header(value, self.fp)
        except Mismatch as e:
            problems.append(("header/fingerprint", str(e)))
        try:
            datum = decode_body(self.schema, value[10:])
        except Exception as e:  # noqa: BLE001 - any decoding error is a finding
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            problems.append(("avro decode", f"python-avro cannot decode the body: {type(e).__name__}: {first}"))
        if datum is not None:
            try:
                event = self.model.rebuild(self.schema_json, datum, top=True)
            except Mismatch as e:
                problems.append(("rebuild", f"cannot rebuild the event: {e}"))

        # Match the record to the next input event with its uuid.
        uuid = kafka.get("key")
        if uuid is None and isinstance(datum, dict):
            uuid = datum.get("uuid")
        j = next((k for k in range(pos, len(inputs)) if inputs[k].uuid == uuid and uuid is not None), None)
        inp = None
        if j is None:
            problems.append(("matching", f"no remaining input event has uuid {uuid!r}"))
        else:
            for k in range(pos, j):
                if inputs[k].reason is None:
                    inputs[k].matched = True  # reported here, not again at the end
                    self.fail(inputs[k].where(), "no okta.events record holds this event "
                              f"(the next record is {inputs[j].where()})")
            inp = inputs[j]
            inp.matched = True
            pos = j + 1
            where += f" = {inp.where()}"
            if inp.reason is not None:
                problems.append(("routing", f"event should have been dead-lettered ({inp.reason})"))

        if datum is not None and inp is not None:
            problems += [("delivery metadata", m) for m in self.check_delivery(datum.get(DELIVERY), inp)]
            hdrs = kafka.get("headers") or {}
            want_hdrs = {"okta-event-type": _header_event_type(inp.value),
                         "hookbridge-source": SOURCE, "okta-delivery-id": inp.name}
            for k, v in want_hdrs.items():
                got = hdrs.get(k)
                if got != v and not (k == "okta-event-type" and v == "" and got is None):
                    problems.append(("kafka headers/key", f"header {k} is {got!r}, want {v!r}"))
            if kafka.get("key") != inp.uuid:
                problems.append(("kafka headers/key", f"record key {kafka.get('key')!r} is not the uuid {inp.uuid!r}"))

        if event is not None:
            go = decoded_by_offset.get(off)
            if go is None:
                problems.append(("vs consume", "the decoded consume output has no record at this offset"))
            else:
                go = dict(go)
                go.pop("_kafka", None)
                d = diff(event, go)
                if d:
                    problems.append(("vs consume", f"python-avro rebuild != hookbridge consume: {d}"))
            if inp is not None and inp.error is None:
                d = diff(event, inp.value)
                if d:
                    problems.append(("vs input", f"python-avro rebuild != input event: {d}"))
        if problems:
            self.fail(where, problems, inp.text if inp is not None else None)
        else:
            self.passed += 1
        return pos

    def check_delivery(self, d, inp):
        problems = []
        if not isinstance(d, dict):
            return [f"hookbridge metadata is {d!r}"]
        want = {"source": SOURCE, "eventId": inp.name, "eventTime": ENVELOPE_EVENT_TIME,
                "raw": None, ABSENT: [], EXTRA: None}
        for k, v in want.items():
            if d.get(k) != v:
                problems.append(f"hookbridge.{k} is {d.get(k)!r}, want {v!r}")
        r = d.get("receivedAt")
        now = time.time() * 1000
        if not isinstance(r, int) or isinstance(r, bool) or not now - 3_600_000 < r <= now + 60_000:
            problems.append(f"hookbridge.receivedAt {r!r} is not a recent Unix millisecond time")
        return problems

    def check_dead(self, args, inputs):
        expected = [i for i in inputs if i.reason is not None and i.error is None]
        raw = read_lines(args.dead_raw)
        decoded = read_lines(args.dead_decoded)
        print(f"crosscheck: {len(expected)} events expected in okta.deadletter; "
              f"{len(raw)} raw and {len(decoded)} decoded records there", file=sys.stderr)
        go_by_offset = {}
        for n, line in decoded:
            try:
                obj = loads(line)
                go_by_offset[offset_of(obj)] = obj
            except ValueError as e:
                self.fail(f"okta.deadletter consume line {n}", f"not JSON: {e}")
        if len(raw) != len(expected):
            self.fail("okta.deadletter", f"{len(raw)} records, expected {len(expected)}: "
                      + ", ".join(f"{i.where()} ({i.reason})" for i in expected))
        for k, (n, line) in enumerate(raw):
            inp = expected[k] if k < len(expected) else None
            where = f"okta.deadletter line {n}" + (f" = {inp.where()}" if inp else "")
            problems = []
            try:
                meta = json.loads(line)
                off = offset_of(meta)
                value = base64.b64decode(meta["value_base64"], validate=True)
            except (ValueError, KeyError, TypeError) as e:
                self.fail(where, f"bad --raw line: {e}")
                continue
            try:
                self.check_header(value, self.dead_fp)
            except Mismatch as e:
                problems.append(("dead letter header/fingerprint", str(e)))
            try:
                d = decode_body(self.dead_schema, value[10:])
            except Exception as e:  # noqa: BLE001
                self.fail(where, problems + [("dead letter avro decode", f"{type(e).__name__}: {e}")])
                continue
            if inp is None:
                self.fail(where, f"unexpected dead letter: {short(d, 400)}")
                continue
            if d.get("reason") != inp.reason:
                problems.append(f"reason {d.get('reason')!r}, want {inp.reason!r}")
            if d.get("source") != SOURCE or d.get("deliveryEventId") != inp.name:
                problems.append(f"source/deliveryEventId {d.get('source')!r}/{d.get('deliveryEventId')!r}")
            try:
                ev = loads(d.get("event"))
                dd = diff(ev, inp.value)
                if dd:
                    problems.append(f"dead letter event != input: {dd}")
            except (ValueError, TypeError) as e:
                problems.append(f"dead letter event is not JSON: {e}")
            go = go_by_offset.get(off)
            if go is None:
                problems.append("the decoded consume output has no record at this offset")
            elif isinstance(inp.value, dict):
                go = dict(go)
                go.pop("_kafka", None)
                dl = go.pop("_deadletter", None)
                dd = diff(go, inp.value)
                if dd:
                    problems.append(f"hookbridge consume != input: {dd}")
                if not isinstance(dl, dict) or dl.get("reason") != inp.reason:
                    problems.append(f"hookbridge consume _deadletter is {short(dl)}")
            if problems:
                self.fail(where, [p if isinstance(p, tuple) else ("dead letter", p) for p in problems],
                          inp.text)


def _header_event_type(ev):
    if isinstance(ev, dict) and "eventType" not in ev.dups and isinstance(ev.get("eventType"), str):
        return ev["eventType"]
    return None


def cmd_check(args):
    passed, failures = 0, []
    try:
        c = Checker(args)
        c.run(args)
        passed, failures = c.passed, c.failures
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - report a crash as a failure, keep the last line
        traceback.print_exc()
        failures.append(("crosscheck.py", [("crash", "crashed (traceback above)")], None))
    # Show every failure in one line, and the first of each kind in full.
    kinds = {}
    for what, problems, _ in failures:
        for kind, _msg in problems:
            kinds[kind] = kinds.get(kind, 0) + 1
    shown = set()
    for what, problems, text in failures:
        fresh = [k for k, _ in problems if k not in shown]
        if not fresh or len(shown) >= MAX_SHOWN:
            print(f"FAIL {what}: " + "; ".join(sorted({k for k, _ in problems})), file=sys.stderr)
            continue
        shown.update(fresh)
        print(f"FAIL {what}", file=sys.stderr)
        for kind, msg in problems:
            print(f"      [{kind}] {msg}", file=sys.stderr)
        if text is not None:
            print(f"      input: {short(text, 600)}", file=sys.stderr)
    only_fp = sum(1 for _, problems, _ in failures
                  if problems and all(k.endswith("header/fingerprint") for k, _ in problems))
    if only_fp:
        print(f"crosscheck: {only_fp} of the failed records fail only the header fingerprint check "
              "(decoding and both comparisons succeed)", file=sys.stderr)
    if kinds:
        print("crosscheck: failures by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.items()),
              file=sys.stderr)
    print(f"crosscheck: {passed} passed, {len(failures)} failed")
    return 1 if failures or passed == 0 else 0


# ---------------------------------------------------------------------------
# post


def cmd_post(args):
    ok = True
    for f in args.files:
        name = os.path.basename(f)
        events = read_input(f)
        req = urllib.request.Request(args.url, data=envelope(name, events), method="POST", headers={
            "Authorization": args.secret, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except OSError as e:
            status, body = None, str(e).encode()
        print(f"crosscheck: POST {name} ({len(events)} events): {status}", file=sys.stderr)
        if status != 200:
            print(f"crosscheck:   answer: {body.decode('utf-8', 'replace').strip()}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("post", help="POST each file as one envelope")
    pp.add_argument("--url", required=True)
    pp.add_argument("--secret", required=True)
    pp.add_argument("files", nargs="+")
    pc = sub.add_parser("check", help="check the records read back")
    pc.add_argument("--schema", required=True, help="output of `hookbridge schema`")
    pc.add_argument("--raw", required=True, help="`hookbridge consume --raw` of okta.events")
    pc.add_argument("--decoded", required=True, help="`hookbridge consume` of okta.events")
    pc.add_argument("--dead-schema", required=True, help="output of `hookbridge schema --dead-letter`")
    pc.add_argument("--dead-raw", required=True, help="`hookbridge consume --raw` of okta.deadletter")
    pc.add_argument("--dead-decoded", required=True, help="`hookbridge consume` of okta.deadletter")
    pc.add_argument("--consume-failed", type=int, default=0)
    pc.add_argument("files", nargs="+")
    args = p.parse_args()
    return cmd_post(args) if args.cmd == "post" else cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
