"""The documents on S3-compatible object storage (OMNIGUICHET_DOCUMENT_STORAGE=s3, django-storages): the settings'
own S3 block, against a real S3 HTTP server started by the test (moto's server, in a thread), through boto3 and
django-storages unchanged. Skipped where the optional `s3` extra (and moto) is not installed."""

import runpy
import uuid

import pytest

from omniguichet.core.actors import Actor
from omniguichet.documents import services
from omniguichet.documents.models import Document
from tests.documents.conftest import make_pdf

pytest.importorskip("storages.backends.s3", reason="the optional s3 extra (django-storages, boto3)")
moto_server = pytest.importorskip("moto.server", reason="moto's S3 server")


@pytest.fixture
def s3(settings, monkeypatch):
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"omniguichet-test-{uuid.uuid4().hex[:12]}"  # the server's state lives as long as the process
    for name, value in {
        "OMNIGUICHET_DOCUMENT_STORAGE": "s3",
        "OMNIGUICHET_DOCUMENT_BUCKET": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    # The settings module evaluated again with these variables: its S3 block is what is tested.
    import omniguichet.settings

    configured = runpy.run_path(omniguichet.settings.__file__)["STORAGES"]["documents"]
    assert configured["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (
        configured["OPTIONS"]["bucket_name"] == bucket and configured["OPTIONS"]["endpoint_url"] == endpoint
    )
    settings.STORAGES = {**settings.STORAGES, "documents": configured}
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    yield client, bucket
    server.stop()


def objects(s3) -> dict[str, bytes]:
    client, bucket = s3
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_a_deposit_is_stored_encrypted_in_the_bucket_and_read_back(
    s3, insured_actor, rib_request, agent_paris
):
    pdf = make_pdf(2)
    result = services.deposit_documents(
        actor=insured_actor, channel="app", purpose_kind="request", purpose_ref=str(rib_request.pk),
        document_type="bank_details", files=[("rib.pdf", pdf)],
    )  # fmt: skip
    [document] = result.documents
    stored = objects(s3)
    assert list(stored) == [document.file] and document.file.startswith("751/")
    blob = stored[document.file]
    assert (
        blob.startswith(b"OGD1") and pdf not in blob and pdf[:64] not in blob
    )  # only ciphertext in the bucket
    assert services.read_plain(Document.objects.get(pk=document.pk)) == pdf
    _doc, content = services.document_content(actor=Actor.agent(agent_paris), document_id=document.pk)
    assert content == pdf
    # An object altered in the bucket is detected on reading.
    client, bucket = s3
    client.put_object(Bucket=bucket, Key=document.file, Body=blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(services.TamperedDocument):
        services.read_plain(document)


def test_a_failed_deposit_leaves_no_object_in_the_bucket(s3, insured_actor, rib_request, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.deposit, "record_contact", broken)  # where the deposit looks it up
    with pytest.raises(RuntimeError):
        services.deposit_documents(
            actor=insured_actor, channel="app", purpose_kind="request", purpose_ref=str(rib_request.pk),
            document_type="bank_details", files=[("a.pdf", make_pdf()), ("b.pdf", make_pdf())],
        )  # fmt: skip
    assert objects(s3) == {} and not Document.objects.exists()
