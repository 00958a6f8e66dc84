#!/bin/bash
# dracut module "vpc-imds": the static vpc-imds in the initramfs, and a hook that
# waits for the IBM Cloud VPC instance metadata service and writes the user data
# to /run/vpc-imds/user-data (which the real root keeps: dracut moves /run).
#
# Install: cp -r contrib/dracut/90vpc-imds /usr/lib/dracut/modules.d/ and build with
#   dracut --add vpc-imds ...   (or add_dracutmodules+=" vpc-imds " in dracut.conf.d)
# Kernel command line: rd.vpc-imds.wait=SECS (default 60), rd.vpc-imds=0 to skip.

# Only when asked for: needs the binary, never pulled in by default.
check() {
    require_binaries vpc-imds || return 1
    return 255
}

# The initramfs must bring the network up for the link-local service.
depends() {
    echo network
    return 0
}

install() {
    # One static file: no libraries to follow, no /etc, no CA store, no resolver.
    inst "$(command -v vpc-imds)" /usr/bin/vpc-imds
    inst_hook pre-mount 50 "$moddir/vpc-imds-user-data.sh"
    # The network module brings interfaces up only when something needs them.
    mkdir -p "${initdir}/etc/cmdline.d"
    echo "rd.neednet=1" > "${initdir}/etc/cmdline.d/90vpc-imds.conf"
}
