"""The two places a durable image store keeps its bytes: a folder, or an S3-compatible bucket."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.configuration.config import S3Config
from shared.errors import ConfigError


class DirectoryBlobs:
    """Files under a folder; the time a blob was written is its file's mtime."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self.where = f"directory {root}"

    def write(self, name: str, data: bytes) -> None:
        path = self._root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed into place: a reader never sees half an image.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".writing-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, name: str) -> tuple[bytes, float] | None:
        try:
            with open(self._root / name, "rb") as file:
                return file.read(), os.fstat(file.fileno()).st_mtime
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        (self._root / name).unlink(missing_ok=True)

    def older_than(self, cutoff: float) -> Iterator[str]:
        if not self._root.is_dir():
            return
        for path in self._root.glob("*/*.png"):
            try:
                if path.stat().st_mtime < cutoff:
                    yield str(path.relative_to(self._root))
            except FileNotFoundError:
                continue  # deleted meanwhile (another worker's eviction)


class S3Blobs:
    """Objects in a bucket, under a prefix; the time a blob was written is its LastModified."""

    def __init__(self, client: Any, bucket: str, prefix: str, *, where: str) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self.where = where

    @classmethod
    def from_config(cls, config: S3Config) -> S3Blobs:
        """A boto3 client; credentials come the way boto3 finds them (AWS_ACCESS_KEY_ID and
        AWS_SECRET_ACCESS_KEY, a profile, an instance role), never from the config file."""
        try:
            import boto3
            from botocore.config import Config
        except ModuleNotFoundError:
            raise ConfigError("[storage] store = \"s3\" needs boto3: pip install 'imagine-bot[s3]'") from None
        client = boto3.client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region,
            config=Config(
                retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
            ),
        )
        where = f"s3://{config.bucket}/{config.prefix}" + (
            f" at {config.endpoint_url}" if config.endpoint_url else ""
        )
        return cls(client, config.bucket, config.prefix, where=where)

    def write(self, name: str, data: bytes) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=self._prefix + name, Body=data, ContentType="image/png"
        )

    def read(self, name: str) -> tuple[bytes, float] | None:
        try:
            found = self._client.get_object(Bucket=self._bucket, Key=self._prefix + name)
        except self._client.exceptions.NoSuchKey:
            return None
        return found["Body"].read(), found["LastModified"].timestamp()

    def delete(self, name: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=self._prefix + name)

    def older_than(self, cutoff: float) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                if item["LastModified"].timestamp() < cutoff:
                    yield item["Key"].removeprefix(self._prefix)
