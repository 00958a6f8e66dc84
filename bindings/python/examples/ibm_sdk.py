"""vpc-imds as the authenticator of an IBM Cloud SDK client (here ibm-vpc's VpcV1).

    pip install vpc-imds[ibm] ibm-vpc
    python ibm_sdk.py [IMDS endpoint] [VPC API URL]
"""

from __future__ import annotations

import sys

from ibm_vpc import VpcV1  # type: ignore[import-untyped]

from vpc_imds.ibm import VpcImdsAuthenticator


def main() -> None:
    imds = sys.argv[1] if len(sys.argv) > 1 else None
    authenticator = VpcImdsAuthenticator(url=imds)  # the instance's default trusted profile
    service = VpcV1(authenticator=authenticator)
    if len(sys.argv) > 2:
        service.set_service_url(sys.argv[2])
    for instance in service.list_instances().get_result().get("instances", []):
        print(instance["name"])


if __name__ == "__main__":
    main()
