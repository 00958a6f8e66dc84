"""Quick start: the blocking and the asyncio client.

Run on a VPC instance, or against the emulator:
    vpc-imds-emulator &                     # prints: listening on http://127.0.0.1:PORT
    VPC_IMDS_ENDPOINT=http://127.0.0.1:PORT python quickstart.py
"""

from __future__ import annotations

import asyncio
from typing import List

import vpc_imds


def sync_tour(client: vpc_imds.Client) -> List[str]:
    instance = client.instance()
    lines = [f"instance {instance.name} ({instance.id})"]
    if instance.zone is not None:
        lines.append(f"zone {instance.zone.name}")
    if instance.vcpu is not None:
        lines.append(f"vcpus {instance.vcpu.count}, memory {instance.memory} GiB")
    for key in client.keys():  # follows pages lazily
        lines.append(f"ssh key {key.name}: {key.type}")
    user_data = client.user_data()  # bytes, with helpers
    for part in user_data.parts():
        lines.append(f"user data part {part.content_type} ({len(part.payload)} bytes)")
    token = client.iam_token()
    lines.append(f"IAM token: {token!r}")  # the repr never shows the token itself
    try:
        client.key("r000-no-such-key")
    except vpc_imds.NotFound as e:
        lines.append(f"not found: code={e.code} status={e.status} trace={e.trace}")
    except vpc_imds.ImdsError as e:
        lines.append(f"failed: {e.kind}: {e}")
    return lines


async def async_tour(client: vpc_imds.AsyncClient) -> List[str]:
    instance, nics = await asyncio.gather(client.instance(), client.network_interfaces())
    lines = [f"instance {instance.name}, {len(nics)} network interface(s)"]
    async for group in client.placement_groups():
        lines.append(f"placement group {group.name}: {group.strategy}")
    return lines


def main() -> None:
    with vpc_imds.Client(timeout=10.0) as client:
        for line in sync_tour(client):
            print(line)

    async def run() -> None:
        async with vpc_imds.AsyncClient() as client:
            for line in await async_tour(client):
                print(line)

    asyncio.run(run())


if __name__ == "__main__":
    main()
