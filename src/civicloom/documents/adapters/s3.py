"""Documents in S3-compatible object storage through boto3 (run in threads)."""

from __future__ import annotations

import asyncio
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class S3DocumentStore:
    """One bucket; objects are written with their SHA-256 checked by S3 (``ChecksumAlgorithm``)."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        # Creating a client opens no connection; the first call does.
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
        )

    async def put(self, key: str, source: BinaryIO, media_type: str) -> None:
        """Upload an object."""
        source.seek(0)
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=source,
            ContentType=media_type,
            ChecksumAlgorithm="SHA256",
        )

    async def get(self, key: str) -> bytes:
        """Download an object."""

        def read() -> bytes:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise KeyError(key) from exc
                raise
            return bytes(response["Body"].read())

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        """Delete an object (absent is fine)."""
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    async def exists(self, key: str) -> bool:
        """Whether the object exists."""

        def head() -> bool:
            try:
                self._client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                    return False
                raise
            return True

        return await asyncio.to_thread(head)
