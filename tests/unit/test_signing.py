"""Every worked vector from ccc-api-notes.md, reproduced byte for byte."""

from dialer.ccc import signing

TAGS = "batch=7 & note:a*b~c/é+"
PARAMS = {
    "AccessKeyId": "testid",
    "Action": "StartBack2BackCall",
    "Broker": "02151234567",
    "Callee": "13900000000",
    "Caller": "13800000000",
    "Format": "JSON",
    "InstanceId": "ccc-test",
    "RegionId": "cn-shanghai",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "c8b2d3f0-1e2a-4b5c-9d6e-7f8091a2b3c4",
    "SignatureVersion": "1.0",
    "Tags": TAGS,
    "TimeoutSeconds": "30",
    "Timestamp": "2024-05-01T12:00:00Z",
    "Version": "2020-07-01",
}
V1_CANONICAL = (
    "AccessKeyId=testid&Action=StartBack2BackCall&Broker=02151234567&Callee=13900000000"
    "&Caller=13800000000&Format=JSON&InstanceId=ccc-test&RegionId=cn-shanghai"
    "&SignatureMethod=HMAC-SHA1&SignatureNonce=c8b2d3f0-1e2a-4b5c-9d6e-7f8091a2b3c4"
    "&SignatureVersion=1.0&Tags=batch%3D7%20%26%20note%3Aa%2Ab~c%2F%C3%A9%2B&TimeoutSeconds=30"
    "&Timestamp=2024-05-01T12%3A00%3A00Z&Version=2020-07-01"
)
V1_STRING_TO_SIGN = (
    "POST&%2F&AccessKeyId%3Dtestid%26Action%3DStartBack2BackCall%26Broker%3D02151234567"
    "%26Callee%3D13900000000%26Caller%3D13800000000%26Format%3DJSON%26InstanceId%3Dccc-test"
    "%26RegionId%3Dcn-shanghai%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3Dc8b2d3f0-1e2a-4b5c-9d6e-7f8091a2b3c4%26SignatureVersion%3D1.0"
    "%26Tags%3Dbatch%253D7%2520%2526%2520note%253Aa%252Ab~c%252F%25C3%25A9%252B"
    "%26TimeoutSeconds%3D30%26Timestamp%3D2024-05-01T12%253A00%253A00Z%26Version%3D2020-07-01"
)


def test_v1_canonical_query_string_matches_vector() -> None:
    assert signing.canonical_query(PARAMS) == V1_CANONICAL


def test_v1_string_to_sign_matches_vector() -> None:
    assert signing.v1_string_to_sign("POST", PARAMS) == V1_STRING_TO_SIGN


def test_v1_signature_post_with_awkward_tags() -> None:
    assert signing.v1_signature("POST", PARAMS, "testsecret") == "47ShO6zduOwGEhcMZwnEtmUjLqo="


def test_v1_signature_get() -> None:
    assert signing.v1_signature("GET", PARAMS, "testsecret") == "RKNBVqqGSii9kKd9jO5an8/zHRg="


def test_v1_signature_without_tags() -> None:
    params = {k: v for k, v in PARAMS.items() if k != "Tags"}
    assert signing.v1_signature("POST", params, "testsecret") == "z2GdW936wLwB0WfWIWYQZhDAewA="


def test_v1_signature_with_empty_signature_type_as_old_sdk_sends() -> None:
    params = {**PARAMS, "SignatureType": ""}
    assert signing.v1_signature("POST", params, "testsecret") == "2GD6dNgO2U7Im/XvHI5sq5lKyBo="


def test_v1_signature_ignores_a_signature_parameter() -> None:
    params = {**PARAMS, "Signature": "whatever"}
    assert signing.v1_signature("POST", params, "testsecret") == "47ShO6zduOwGEhcMZwnEtmUjLqo="


def test_v1_alibaba_published_describe_regions_vector() -> None:
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert signing.v1_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


V3_QUERY = {
    "Broker": "02151234567",
    "Callee": "13900000000",
    "Caller": "13800000000",
    "InstanceId": "ccc-test",
    "Tags": TAGS,
    "TimeoutSeconds": "30",
}
V3_HEADERS = {
    "host": "ccc.cn-shanghai.aliyuncs.com",
    "x-acs-action": "StartBack2BackCall",
    "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-acs-date": "2024-05-01T12:00:00Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-version": "2020-07-01",
}
V3_SIGNED = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
V3_CANONICAL = (
    "POST\n/\n"
    "Broker=02151234567&Callee=13900000000&Caller=13800000000&InstanceId=ccc-test"
    "&Tags=batch%3D7%20%26%20note%3Aa%2Ab~c%2F%C3%A9%2B&TimeoutSeconds=30\n"
    "host:ccc.cn-shanghai.aliyuncs.com\n"
    "x-acs-action:StartBack2BackCall\n"
    "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    "x-acs-date:2024-05-01T12:00:00Z\n"
    "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
    "x-acs-version:2020-07-01\n"
    "\n"
    f"{V3_SIGNED}\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)


def test_v3_empty_body_hash() -> None:
    assert V3_HEADERS["x-acs-content-sha256"] == signing.EMPTY_BODY_SHA256


def test_v3_canonical_request_matches_vector() -> None:
    assert signing.v3_canonical_request("POST", "/", V3_QUERY, V3_HEADERS) == V3_CANONICAL


def test_v3_string_to_sign_matches_vector() -> None:
    assert signing.v3_string_to_sign(V3_CANONICAL) == (
        "ACS3-HMAC-SHA256\na53243e24acb34dafcc4780bcbd4181dd6ffab310f0d86994ca0842535524733"
    )


def test_v3_authorization_matches_vector() -> None:
    sts = signing.v3_string_to_sign(V3_CANONICAL)
    signature = signing.v3_signature(sts, "testsecret")
    assert signing.v3_authorization("testid", V3_SIGNED, signature) == (
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders="
        + V3_SIGNED
        + ",Signature=a0035dd3f4027fe4395020e60b724f554d7eb367487714cc17ca81a6516b0e35"
    )


def test_v3_header_names_are_lowercased_and_values_trimmed() -> None:
    shouty = {k.upper(): f"  {v} " for k, v in V3_HEADERS.items()}
    assert signing.v3_canonical_request("POST", "/", V3_QUERY, shouty) == V3_CANONICAL
