package io.github.vpcimds

import com.ibm.cloud.sdk.core.security.Authenticator
import okhttp3.Request

/**
 * An `Authenticator` for IBM Cloud's Java SDKs (`com.ibm.cloud:sdk-core`), in place of
 * the SDK's own `VpcInstanceAuthenticator`: the IAM token comes from [imds] (one
 * exchange per trusted profile while the token is fresh; the client caches it).
 * At most one of [iamProfileId], [iamProfileCrn] and [iamProfileName] (an empty one is
 * absent, as in the SDK's own); none means the instance's default trusted profile. Errors are the facade's exceptions.
 *
 * ```java
 * VpcV1 vpc = new VpcV1("vpc", new VpcImdsAuthenticator(ImdsFacade.create()));
 * ```
 */
class VpcImdsAuthenticator(
    private val imds: ImdsFacade,
    iamProfileId: String?,
    iamProfileCrn: String?,
    iamProfileName: String?,
) : Authenticator {
    /** With the instance's default trusted profile. */
    constructor(imds: ImdsFacade) : this(imds, null, null, null)

    // An empty field is an absent one, as in the SDK's own authenticator.
    val iamProfileId: String? = iamProfileId?.ifEmpty { null }
    val iamProfileCrn: String? = iamProfileCrn?.ifEmpty { null }
    val iamProfileName: String? = iamProfileName?.ifEmpty { null }

    init {
        validate()
    }

    /** `vpc`, like the SDK's own VPC instance authenticator. */
    override fun authenticationType(): String = Authenticator.AUTHTYPE_VPC

    /** Throws `IllegalArgumentException` if more than one trusted profile is given. */
    override fun validate() {
        require(listOfNotNull(iamProfileId, iamProfileCrn, iamProfileName).size <= 1) {
            "At most one of iamProfileId, iamProfileCrn or iamProfileName may be specified."
        }
    }

    /** Sets `Authorization: Bearer <IAM token>`. */
    override fun authenticate(request: Request.Builder) {
        request.header("Authorization", "Bearer " + token())
    }

    /** The IAM access token (cached while fresh). Its native object is freed at once,
     * not left to the garbage collector (one per request a service makes). */
    fun token(): String = imds.iamToken(iamProfileId, iamProfileCrn, iamProfileName).use { it.secret() }

    // Read now: a logger printing the authenticator after the client is closed must not throw.
    private val endpoint = imds.client.endpoint()

    override fun toString() = "VpcImdsAuthenticator(vpc, $endpoint)"
}
