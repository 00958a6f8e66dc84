#!/bin/sh
# dracut pre-mount hook (module vpc-imds): wait for the metadata service, then
# write the user data to /run/vpc-imds/user-data (mode 0600). A failure is logged
# and never stops the boot.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

if [ "$(getarg rd.vpc-imds=)" = 0 ]; then
    return 0 2>/dev/null || exit 0
fi
wait_secs=$(getarg rd.vpc-imds.wait=)
wait_secs=${wait_secs:-60}

mkdir -p /run/vpc-imds
chmod 0700 /run/vpc-imds
if /usr/bin/vpc-imds wait --max "$wait_secs" &&
   /usr/bin/vpc-imds user-data > /run/vpc-imds/.user-data.tmp; then
    chmod 0600 /run/vpc-imds/.user-data.tmp
    mv -f /run/vpc-imds/.user-data.tmp /run/vpc-imds/user-data
    info "vpc-imds: user data written to /run/vpc-imds/user-data"
else
    rm -f /run/vpc-imds/.user-data.tmp
    warn "vpc-imds: no user data (the metadata service did not answer; see: vpc-imds doctor)"
fi
