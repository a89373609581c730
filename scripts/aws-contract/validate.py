"""
Validates recorded AWS exchanges (request the product sent, answer the lab gave) against the service models
shipped in botocore: the shapes AWS's own SDKs are generated from, which we did not write. Three protocols:

- AWS JSON (SSM 1.1, CloudWatch 1.0 as the installed @aws-sdk/client-cloudwatch speaks it): request and
  response are the parsed bodies, checked member by member (below).
- EC2's query protocol ({"service": "ec2", "protocol": "ec2"}): the request is the form fields. They are decoded
  into the operation's input by the model's wire names (flattened `Name.N` lists, capitalised names), checked,
  then serialized again with botocore's own EC2 serializer, which must give back exactly the fields sent. The
  answer is XML: a 200 must be `<{Operation}Response>` in the model's namespace with no element the model does
  not name (plus `requestId`, and `return`, which EC2 sends where the model declares no output), and is parsed
  with botocore's EC2 parser and checked; an error must be `<Response><Errors><Error><Code>` with a code EC2's
  error reference lists.
- The AWS query protocol ({"service": "autoscaling", "protocol": "query"}, likewise elbv2): as EC2's, with the
  protocol's own wire names (`Name.member.N` lists, `Name.entry.N.key` maps) and botocore's query serializer; a
  200 is `<{Operation}Response>` holding only `<{Operation}Result>` (the output's resultWrapper) and
  `ResponseMetadata`, parsed with botocore's query parser; an error is `<ErrorResponse><Error><Code>` with a code
  declared for the operation or common to AWS query APIs.
- S3's REST-XML ({"service": "s3", "protocol": "rest-xml"}): method and path must fit the operation's HTTP
  binding; the URI labels, mapped headers, query and payload become the input, checked; an `x-amz-*` header
  the model does not map (and no SDK transport header) is a problem. The answer is parsed with botocore's
  REST-XML parser and checked, `x-amz-*` answer headers must be mapped too, and an error code must be declared
  for the operation or be a common S3 error.

Input: a JSON file, a list of {"service": "ssm", "operation": "...", "request": {...}, "status": 200,
"response": {...}}. For each exchange it checks the request against the operation's input shape and, for a
200, the response against its output shape (required members, unknown members, types, enums, lengths,
ranges, patterns); for an error, that the error code is one the operation declares or a common AWS error.

Prints one JSON object: {"checked": n, "operations": {op: count}, "problems": [...]}; exits 1 if any problem.

Response leniency, on purpose, where AWS's own answers do not follow the model's input constraints: AWS sends
"" for unset string members of command records (OutputS3BucketName, ServiceRole, NotificationArn…) although
the model gives them a minimum length, and GetCommandInvocation's Execution*DateTime carry milliseconds
("2020-02-19T18:18:03.419Z") and ExecutionElapsedTime a duration ("PT0.039S"), which the StringDateTime
pattern does not allow. So in responses an empty string is not held to min-length, and patterns are not
checked. Requests get no such leniency.
"""
import base64
import datetime
import email.utils
import json
import re
import sys
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote

import botocore.session
from botocore import parsers, serialize
from botocore.awsrequest import HeadersDict

# Errors every AWS JSON service may answer without declaring them per operation.
COMMON_ERRORS = {
    "ValidationException",
    "ThrottlingException",
    "SerializationException",
    "UnknownOperationException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InternalFailure",
    "ServiceUnavailable",
}


# EC2's API reference, "Error codes": the client errors a call may answer (EC2's model declares none per operation).
EC2_ERRORS = {
    "AuthFailure",
    "DryRunOperation",
    "IncorrectState",
    "InternalError",
    "InvalidAction",
    "InvalidID",
    "InvalidInstanceID.Malformed",
    "InvalidInstanceID.NotFound",
    "InvalidParameter",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "MissingParameter",
    "RequestLimitExceeded",
    "TagLimitExceeded",
    "UnauthorizedOperation",
    "Unavailable",
}
# S3 errors any operation may answer (S3's error reference); HEAD answers carry no body, so their code is the status.
S3_COMMON_ERRORS = {"AccessDenied", "InternalError", "InvalidArgument", "NoSuchBucket", "NotFound", "SlowDown"}
# Headers the SDKs add for signing, retries and streaming, outside any operation's input.
S3_TRANSPORT_HEADERS = {
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-decoded-content-length",
    "x-amz-security-token",
    "x-amz-trailer",
    "x-amz-user-agent",
}
S3_RESPONSE_META = {"x-amz-request-id", "x-amz-id-2"}


def check(shape, value, path, problems, response):
    t = shape.type_name
    meta = shape.metadata
    if value is None:
        problems.append(f"{path}: null")
        return
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object ({shape.name}), got {type(value).__name__}")
            return
        for req in shape.required_members:
            if value.get(req) is None:
                problems.append(f"{path}.{req}: required by {shape.name}, missing")
        for k, v in value.items():
            if k not in shape.members:
                problems.append(f"{path}.{k}: not a member of {shape.name}")
            else:
                check(shape.members[k], v, f"{path}.{k}", problems, response)
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list ({shape.name})")
            return
        length_checks(shape, len(value), path, problems)
        for i, v in enumerate(value):
            check(shape.member, v, f"{path}[{i}]", problems, response)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map ({shape.name})")
            return
        length_checks(shape, len(value), path, problems)
        for k, v in value.items():
            check(shape.key, k, f"{path}<key {k}>", problems, response)
            check(shape.value, v, f"{path}[{k}]", problems, response)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string ({shape.name}), got {type(value).__name__}")
            return
        if response and value == "":
            return
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.name} {shape.enum}")
        length_checks(shape, len(value), path, problems)
        pattern = meta.get("pattern")
        if pattern and not response:
            try:
                if not re.search(pattern, value):
                    problems.append(f"{path}: {value!r} does not match {shape.name} pattern {pattern}")
            except re.error:
                pass  # a Java-only regex construct: not checkable here
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer ({shape.name})")
            return
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: {value} < min {meta['min']} ({shape.name})")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} > max {meta['max']} ({shape.name})")
    elif t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number ({shape.name})")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean ({shape.name})")
    elif t == "timestamp":
        # AWS JSON sends timestamps as epoch seconds; botocore's XML parsers hand over datetimes.
        if isinstance(value, datetime.datetime):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected epoch seconds ({shape.name}), got {value!r}")
    elif t == "blob":
        if not isinstance(value, (str, bytes)):
            problems.append(f"{path}: expected base64 text ({shape.name})")


def length_checks(shape, n, path, problems):
    meta = shape.metadata
    if "min" in meta and n < meta["min"]:
        problems.append(f"{path}: length {n} < min {meta['min']} ({shape.name})")
    if "max" in meta and n > meta["max"]:
        problems.append(f"{path}: length {n} > max {meta['max']} ({shape.name})")


def ec2_wire_name(member_name, shape):
    ser = shape.serialization
    if "queryName" in ser:
        return ser["queryName"]
    if "name" in ser:
        return ser["name"][0].upper() + ser["name"][1:]
    return member_name


def decode_ec2(shape, params, prefix, used):
    """The input `params` (form fields) give for `shape` under `prefix`, by EC2's wire names; None if absent."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            key = ec2_wire_name(name, member)
            v = decode_ec2(member, params, f"{prefix}.{key}" if prefix else key, used)
            if v is not None:
                out[name] = v
        return out or None
    if t == "list":
        items = []
        while True:
            v = decode_ec2(shape.member, params, f"{prefix}.{len(items) + 1}", used)
            if v is None:
                return items or None
            items.append(v)
    if prefix not in params:
        return None
    used.add(prefix)
    raw = params[prefix]
    if t in ("integer", "long") and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if t == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if t in ("double", "float"):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def check_form_request(model, op, ex, found, decode, protocol):
    """A form-encoded request (EC2's and the query protocol): Action and Version, every field one the model
    names (decoded by the protocol's wire names), the decoded input checked, and botocore's own serializer of
    that protocol giving back exactly the fields sent."""
    form = dict(ex["request"])
    for k, want in (("Action", op.name), ("Version", model.api_version)):
        if form.get(k) != want:
            found.append(f"request.{k}: {form.get(k)!r}, expected {want!r}")
    params = {k: v for k, v in form.items() if k not in ("Action", "Version")}
    used = set()
    decoded = (decode(op.input_shape, params, "", used) if op.input_shape else None) or {}
    for k in sorted(set(params) - used):
        found.append(f"request.{k}: not a field of {op.name} in the model")
    if op.input_shape is not None:
        check(op.input_shape, decoded, "request", found, False)
        again = serialize.create_serializer(protocol).serialize_to_request(decoded, op)["body"]
        again = {k: str(v) for k, v in again.items()}
        if again != form:
            found.append(f"request: botocore serializes the decoded input as {again}, the product sent {form}")


def check_ec2(model, op, ex, found):
    check_form_request(model, op, ex, found, decode_ec2, "ec2")
    xml = ex["response"]
    root = ET.fromstring(xml)
    if ex["status"] == 200:
        ns = model.metadata.get("xmlNamespace", "").rstrip("/") + "/"
        if root.tag != f"{{{ns}}}{op.name}Response":
            found.append(f"response: root {root.tag}, expected {{{ns}}}{op.name}Response")
        allowed = {"requestId", "return"}
        if op.output_shape is not None:
            allowed |= {m.serialization.get("name", n) for n, m in op.output_shape.members.items()}
        for child in root:
            local = child.tag.split("}")[-1]
            if local not in allowed:
                found.append(f"response.{local}: not a member of {op.name}'s output")
        if op.output_shape is not None:
            parsed = parsers.create_parser("ec2").parse(
                {"status_code": 200, "headers": HeadersDict(), "body": xml.encode()}, op.output_shape
            )
            parsed.pop("ResponseMetadata", None)
            check(op.output_shape, parsed, "response", found, True)
    else:
        code = root.findtext("./Errors/Error/Code")
        if root.tag != "Response" or code is None:
            found.append("error: not EC2's <Response><Errors><Error><Code> shape")
        elif code not in EC2_ERRORS:
            found.append(f"error {code!r} is not an EC2 error code")


def decode_query(shape, params, prefix, used):
    """The input `params` (form fields) give for `shape` under `prefix`, by the query protocol's wire names
    (member names as modelled, `Name.member.N` lists unless flattened, `Name.entry.N.key/value` maps)."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            v = decode_query(member, params, f"{prefix}.{key}" if prefix else key, used)
            if v is not None:
                out[name] = v
        return out or None
    if t == "list":
        flat = shape.serialization.get("flattened")
        item = shape.member.serialization.get("name", "member")
        base = prefix if flat else f"{prefix}.{item}"
        items = []
        while True:
            v = decode_query(shape.member, params, f"{base}.{len(items) + 1}", used)
            if v is None:
                # An empty list is sent as `Name=` (botocore's QuerySerializer).
                if not items and prefix in params and params[prefix] == "":
                    used.add(prefix)
                    return []
                return items or None
            items.append(v)
    if t == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out = {}
        while True:
            n = len(out) + 1
            k = decode_query(shape.key, params, f"{base}.{n}.{kname}", used)
            if k is None:
                return out or None
            out[k] = decode_query(shape.value, params, f"{base}.{n}.{vname}", used)
    return decode_ec2(shape, params, prefix, used)  # scalars decode alike


# Errors any query-protocol service may answer without declaring them per operation (AWS's common errors).
QUERY_COMMON_ERRORS = COMMON_ERRORS | {
    "IncompleteSignature",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidQueryParameter",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingParameter",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "Throttling",
    "ValidationError",
}


def check_query(model, op, ex, found):
    """The AWS query protocol (Auto Scaling, Elastic Load Balancing v2, STS…): form fields in, XML out."""
    check_form_request(model, op, ex, found, decode_query, "query")
    xml = ex["response"]
    root = ET.fromstring(xml)
    ns = model.metadata.get("xmlNamespace", "")
    if ex["status"] == 200:
        if root.tag != f"{{{ns}}}{op.name}Response":
            found.append(f"response: root {root.tag}, expected {{{ns}}}{op.name}Response")
        wrapper = op.output_shape.serialization.get("resultWrapper") if op.output_shape is not None else None
        allowed = {"ResponseMetadata"} | ({wrapper} if wrapper else set())
        for child in root:
            local = child.tag.split("}")[-1]
            if local not in allowed:
                found.append(f"response.{local}: not part of {op.name}'s answer")
        if wrapper:
            result = root.find(f"{{{ns}}}{wrapper}")
            names = {m.serialization.get("name", n) for n, m in op.output_shape.members.items()}
            for child in result if result is not None else []:
                local = child.tag.split("}")[-1]
                if local not in names:
                    found.append(f"response.{wrapper}.{local}: not a member of {op.name}'s output")
        if op.output_shape is not None:
            parsed = parsers.create_parser("query").parse(
                {"status_code": 200, "headers": HeadersDict(), "body": xml.encode()}, op.output_shape
            )
            parsed.pop("ResponseMetadata", None)
            check(op.output_shape, parsed, "response", found, True)
    else:
        err = root.find(f"{{{ns}}}Error") if root.tag == f"{{{ns}}}ErrorResponse" else root.find("Error")
        code = err.findtext(f"{{{ns}}}Code") or err.findtext("Code") if err is not None else None
        if not root.tag.endswith("ErrorResponse") or code is None:
            found.append("error: not the query protocol's <ErrorResponse><Error><Code> shape")
            return
        declared = {e.metadata.get("error", {}).get("code", e.name) for e in op.error_shapes}
        if code not in declared and code not in QUERY_COMMON_ERRORS:
            found.append(f"error {code!r} is neither declared for {op.name} ({sorted(declared)}) nor a common error")


def header_members(shape):
    """{lower-case header: (member name, member shape)} for members bound to headers, and prefix maps."""
    single, prefixed = {}, {}
    for name, m in (shape.members.items() if shape is not None else []):
        loc = m.serialization.get("location")
        if loc == "header":
            single[m.serialization.get("name", name).lower()] = (name, m)
        elif loc == "headers":
            prefixed[m.serialization.get("name", name).lower()] = (name, m)
    return single, prefixed


def header_value(shape, raw):
    t = shape.type_name
    if t in ("integer", "long") and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if t == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if t == "timestamp":
        try:
            return email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return raw  # not an HTTP date: check() reports it
    return raw


def check_s3(model, op, ex, found):
    req = ex["request"]
    http = op.http
    if req["method"] != http["method"]:
        found.append(f"request: method {req['method']}, {op.name} is {http['method']}")
    template = http["requestUri"].split("?")[0]
    pattern = "^" + re.sub(
        r"\{(\w+)(\+?)\}", lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})", template
    ) + "$"
    match = re.match(pattern, req["path"])
    value = {}
    shape = op.input_shape
    if not match:
        found.append(f"request: path {req['path']} does not fit {op.name}'s {template}")
    else:
        for name, m in shape.members.items():
            if m.serialization.get("location") == "uri":
                label = m.serialization.get("name", name)
                if label in match.groupdict():
                    value[name] = unquote(match.group(label))
    headers = {k.lower(): v for k, v in req["headers"].items()}
    single, prefixed = header_members(shape)
    for h, raw in headers.items():
        if h in single:
            name, m = single[h]
            value[name] = header_value(m, raw)
            continue
        pre = next((p for p in prefixed if h.startswith(p)), None)
        if pre:
            value.setdefault(prefixed[pre][0], {})[h[len(pre):]] = raw
        elif h.startswith("x-amz-") and h not in S3_TRANSPORT_HEADERS:
            found.append(f"request header {h}: not in {op.name}'s model")
    query = dict(parse_qsl(req.get("query", ""), keep_blank_values=True))
    for name, m in shape.members.items():
        if m.serialization.get("location") == "querystring":
            q = m.serialization.get("name", name)
            if q in query:
                value[name] = header_value(m, query.pop(q))
    for q in query:
        if q != "x-id":
            found.append(f"request query {q}: not in {op.name}'s model")
    payload = shape.serialization.get("payload")
    body = base64.b64decode(req.get("body", ""))
    if payload and body:
        value[payload] = body
    elif body and not payload:
        found.append(f"request: {op.name} takes no body")
    check(shape, value, "request", found, False)

    resp = ex["response"]
    out_headers = HeadersDict(resp["headers"])
    out_body = base64.b64decode(resp.get("body", ""))
    if ex["status"] < 300:
        single, prefixed = header_members(op.output_shape)
        for h in resp["headers"]:
            h = h.lower()
            if h.startswith("x-amz-") and h not in single and h not in S3_RESPONSE_META:
                if not any(h.startswith(p) for p in prefixed):
                    found.append(f"response header {h}: not in {op.name}'s output")
        if op.output_shape is not None:
            parsed = parsers.create_parser("rest-xml").parse(
                {"status_code": ex["status"], "headers": out_headers, "body": out_body}, op.output_shape
            )
            parsed.pop("ResponseMetadata", None)
            check(op.output_shape, parsed, "response", found, True)
    else:
        code = None
        if out_body:
            try:
                code = ET.fromstring(out_body).findtext("Code")
            except ET.ParseError:
                found.append("error: body is not XML")
        else:
            code = {404: "NotFound", 403: "AccessDenied"}.get(ex["status"], str(ex["status"]))
        declared = {e.name for e in op.error_shapes}
        if code not in declared and code not in S3_COMMON_ERRORS:
            found.append(f"error {code!r} is neither declared for {op.name} ({sorted(declared)}) nor a common S3 error")


def main():
    exchanges = json.load(open(sys.argv[1]))
    session = botocore.session.get_session()
    models = {}
    problems = []
    counts = {}
    for i, ex in enumerate(exchanges):
        service = ex.get("service", "ssm")
        model = models.get(service) or models.setdefault(service, session.get_service_model(service))
        if "shape" in ex:
            # A document AWS reads that is not a request (a BaselineOverride file): checked as a request is.
            where = f"#{i} {service}:{ex['shape']}"
            counts[ex["shape"]] = counts.get(ex["shape"], 0) + 1
            found = []
            check(model.shape_for(ex["shape"]), ex["value"], "value", found, False)
            problems.extend(f"{where} {p}" for p in found)
            continue
        name = ex["operation"]
        where = f"#{i} {service}:{name}"
        if name not in model.operation_names:
            problems.append(f"{where}: no such operation in the {service} model")
            continue
        op = model.operation_model(name)
        counts[name] = counts.get(name, 0) + 1
        found = []
        protocol = ex.get("protocol", "json")
        if protocol in ("ec2", "rest-xml", "query"):
            if protocol != model.protocol:
                found.append(f"the {service} model speaks {model.protocol}, not {protocol}")
            else:
                {"ec2": check_ec2, "rest-xml": check_s3, "query": check_query}[protocol](model, op, ex, found)
            problems.extend(f"{where} {p}" for p in found)
            continue
        if ex.get("request") is None:
            found.append("request: not a JSON object")
        elif op.input_shape is not None:
            check(op.input_shape, ex["request"], "request", found, False)
        if ex["status"] == 200:
            if op.output_shape is not None:
                check(op.output_shape, ex["response"], "response", found, True)
        else:
            # AWS JSON 1.0 services may qualify the code with its namespace (com.amazonaws.cloudwatch#Code).
            code = (ex.get("response") or {}).get("__type", "").split("#")[-1]
            declared = {e.name for e in op.error_shapes}
            if code not in declared and code not in COMMON_ERRORS:
                found.append(f"error {code!r} is not declared for {name} ({sorted(declared)})")
        problems.extend(f"{where} {p}" for p in found)
    print(json.dumps({"checked": len(exchanges), "operations": counts, "problems": problems}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
