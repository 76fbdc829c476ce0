#!/usr/bin/env python3.13
"""`sam package` of the built stack with no AWS account: the deploy path up to CloudFormation.

    python scripts/package_dry_run.py [--build-dir .aws-sam/build] [--env staging] [--sam .tools/sam/bin/sam]

`sam package` (and `sam deploy`, which packages first) zips every function and layer, uploads the
zips to S3 and writes a template whose CodeUri/ContentUri are the uploaded objects: that template and
those zips are exactly what CloudFormation receives. SAM CLI has no offline mode (`--s3-bucket` or
`--resolve-s3` are required), so this script gives it an S3 bucket on loopback: moto's server, reached
through botocore's standard `AWS_ENDPOINT_URL_S3` variable (SAM CLI creates its S3 client without an
explicit endpoint, so the variable applies), with throwaway credentials. Nothing leaves the machine.

Writes, under --out (default .aws-sam/package/<env>):
* packaged.yaml: the template CloudFormation would get (CodeUri: s3://jira-bridge-dry-run/<env>/<hash>);
* artifacts/<hash>: each uploaded zip, downloaded back, so its contents can be checked;
* manifest.json: which resource points at which zip, with zipped and unzipped sizes.
Exit codes: 0 packaged, 1 sam package failed (its output is printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BUCKET = "jira-bridge-dry-run"
REGION = "us-east-1"
sys.path.insert(0, str(REPO_ROOT / "local"))


def artifact_uris(template: dict[str, Any]) -> dict[str, str]:
    """Resource logical id -> the s3:// URI sam package wrote for its code."""
    uris = {}
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            value = props.get(key)
            if isinstance(value, str) and value.startswith("s3://"):
                uris[logical_id] = value
    return uris


def package(build_dir: Path, env: str, out: Path, sam: Path) -> int:
    import boto3
    from moto.server import ThreadedMotoServer

    from local_runtime.cfn_yaml import load_template

    built = build_dir / "template.yaml"
    if not built.is_file():
        print(f"package_dry_run: {built} not found: run `make build` (sam build) first", file=sys.stderr)
        return 2
    if not sam.is_file():
        print(f"package_dry_run: {sam} not found: run `make tools`", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # throwaway values moto accepts; no real credential is read or needed
        credentials = {"AWS_ACCESS_KEY_ID": "dryrun", "AWS_SECRET_ACCESS_KEY": "dryrun", "AWS_SESSION_TOKEN": "dryrun"}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,  # type: ignore[call-overload]
                          aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environment.update(credentials, AWS_ENDPOINT_URL_S3=endpoint, AWS_DEFAULT_REGION=REGION,
                           SAM_CLI_TELEMETRY="0", AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
        packaged = out / "packaged.yaml"
        result = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
            [str(sam), "package", "--template-file", str(built), "--s3-bucket", BUCKET, "--s3-prefix", env,
             "--region", REGION, "--output-template-file", str(packaged), "--no-progressbar"],
            cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            print(f"sam package failed ({result.returncode}):\n{result.stdout}{result.stderr}", file=sys.stderr)
            return 1
        artifacts = out / "artifacts"
        artifacts.mkdir(exist_ok=True)
        manifest = {}
        for logical_id, uri in sorted(artifact_uris(load_template(packaged)).items()):
            key = uri.removeprefix(f"s3://{BUCKET}/")
            local = artifacts / Path(key).name
            s3.download_file(BUCKET, key, str(local))
            with zipfile.ZipFile(local) as archive:
                unzipped = sum(i.file_size for i in archive.infolist())
            manifest[logical_id] = {"uri": uri, "file": str(local.relative_to(out)),
                                    "zipped_bytes": local.stat().st_size, "unzipped_bytes": unzipped}  # fmt: skip
    finally:
        server.stop()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for logical_id, entry in manifest.items():
        print(f"{logical_id:<32} {entry['zipped_bytes'] / 1e6:6.1f} MB zipped, {entry['unzipped_bytes'] / 1e6:6.1f} MB "
              f"unzipped  {entry['uri']}")  # fmt: skip
    print(f"packaged template: {packaged.relative_to(REPO_ROOT) if packaged.is_relative_to(REPO_ROOT) else packaged}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "build")
    parser.add_argument("--env", default="dry-run", help="samconfig.toml environment (used as the S3 prefix)")
    parser.add_argument("--out", type=Path, help="default: .aws-sam/package/<env>")
    parser.add_argument("--sam", type=Path, default=REPO_ROOT / ".tools" / "sam" / "bin" / "sam")
    args = parser.parse_args(argv)
    return package(args.build_dir, args.env, args.out or REPO_ROOT / ".aws-sam" / "package" / args.env, args.sam)


if __name__ == "__main__":
    sys.exit(main())
