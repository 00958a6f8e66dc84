package io.github.vpcimds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.ibm.cloud.sdk.core.http.RequestBuilder;
import com.ibm.cloud.sdk.core.http.ServiceCall;
import com.ibm.cloud.sdk.core.security.Authenticator;
import com.ibm.cloud.sdk.core.service.BaseService;
import com.ibm.cloud.sdk.core.util.ResponseConverterUtils;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * IBM's Java SDK with our authenticator: a `BaseService` subclass calls a stub of the
 * regional VPC API on 127.0.0.1 (never the internet); the IAM token comes from the
 * emulator through vpc-imds, and the stub records the `Authorization` header it got.
 */
class IbmAuthenticatorTest {
    private Emulator emu;
    private HttpServer vpcApi;
    private final List<String> seen = new CopyOnWriteArrayList<>();

    /** The smallest IBM SDK service: `GET /instances`. */
    static final class StubVpc extends BaseService {
        StubVpc(String url, Authenticator authenticator) {
            super("stub_vpc", authenticator);
            setServiceUrl(url);
        }

        ServiceCall<String> listInstances() {
            RequestBuilder request = RequestBuilder.get(RequestBuilder.resolveRequestUrl(getServiceUrl(), "/instances"));
            request.query("version", "2025-01-01");
            return createServiceCall(request.build(), ResponseConverterUtils.getString());
        }
    }

    @BeforeEach
    void start() throws Exception {
        emu = new Emulator();
        vpcApi = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        vpcApi.createContext("/v1/instances", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            seen.add(auth == null ? "" : auth);
            byte[] body = "{\"instances\":[{\"id\":\"i-1\",\"name\":\"stub-vsi\"}],\"total_count\":1}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        vpcApi.start();
    }

    @AfterEach
    void stop() {
        vpcApi.stop(0);
        emu.close();
    }

    private String vpcUrl() {
        return "http://127.0.0.1:" + vpcApi.getAddress().getPort() + "/v1";
    }

    private ImdsFacade imds() {
        return ImdsFacade.builder().endpoint(emu.getBase()).readEnv(false).build();
    }

    @Test
    void baseServiceCarriesTheIamToken() {
        try (ImdsFacade imds = imds()) {
            VpcImdsAuthenticator auth = new VpcImdsAuthenticator(imds);
            StubVpc vpc = new StubVpc(vpcUrl(), auth);
            for (int i = 0; i < 3; i++) {
                assertTrue(vpc.listInstances().execute().getResult().contains("stub-vsi"));
            }
            String iam = imds.iamToken().secret();
            assertEquals(List.of("Bearer " + iam, "Bearer " + iam, "Bearer " + iam), seen);
            assertTrue(iam.startsWith("eyJ"), "a JWT");
            assertFalse(auth.toString().contains(iam), auth.toString());
            assertEquals(1, emu.counters().get("iam_token_exchanges").asInt(), "one exchange for 3 calls and iamToken()");
        }
    }

    @Test
    void linkedProfileAndTheAuthenticatorContract() {
        try (ImdsFacade imds = imds()) {
            String profile = "Profile-00000000-0000-4000-8000-0000000000a1";
            VpcImdsAuthenticator auth = new VpcImdsAuthenticator(imds, profile, null, null);
            assertEquals(Authenticator.AUTHTYPE_VPC, auth.authenticationType());
            new StubVpc(vpcUrl(), auth).listInstances().execute();
            assertEquals("Bearer " + imds.iamToken(profile, null, null).secret(), seen.get(0));
            assertThrows(IllegalArgumentException.class, () -> new VpcImdsAuthenticator(imds, "a", "b", null));
            // An empty field is an absent one, as in the SDK's own authenticator.
            assertEquals(imds.iamToken(profile, null, null).secret(), new VpcImdsAuthenticator(imds, profile, "", "").token());
            // A failure to get a token is the facade's exception, before anything reaches the API.
            emu.call("POST", "/faults/fail", "{\"status\":403,\"route_prefix\":\"/identity/\"}");
            ImdsFacade fresh = imds();
            StubVpc vpc = new StubVpc(vpcUrl(), new VpcImdsAuthenticator(fresh));
            ImdsUnauthorizedException denied = assertThrows(ImdsUnauthorizedException.class, () -> vpc.listInstances().execute());
            assertEquals(Integer.valueOf(403), denied.getStatus());
            assertEquals(1, seen.size(), "the failed call sent nothing to the API");
            fresh.close();
        }
    }
}
