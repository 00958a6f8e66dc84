package io.github.vpcimds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Java facade as Java code uses it, against the emulator on 127.0.0.1. */
class FacadeTest {
    private static Emulator emu;

    @BeforeAll
    static void start() {
        emu = new Emulator();
    }

    @AfterAll
    static void stop() {
        emu.close();
    }

    @BeforeEach
    void reset() {
        emu.call("POST", "/reset", null);
    }

    private static ImdsFacade client() {
        return ImdsFacade.builder().endpoint(emu.getBase()).readEnv(false).build();
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(30, TimeUnit.SECONDS);
    }

    @Test
    void blockingAndFutures() throws Exception {
        try (ImdsFacade imds = client()) {
            Instance instance = imds.instance();
            assertEquals("emu-vsi-1", instance.getName());
            assertEquals(Long.valueOf(8), instance.getMemory());
            assertEquals("standard", instance.getAvailability().getClassName());
            assertEquals(instance, await(imds.instanceAsync()));

            List<Key> keys = new ArrayList<>();
            for (Key key : imds.keys()) {
                keys.add(key);
            }
            assertEquals(3, keys.size());
            assertEquals(keys, await(imds.keysAsync()));
            assertEquals(keys.get(1), imds.key(keys.get(1).getId()));
            assertEquals(keys.get(2), await(imds.keyAsync(keys.get(2).getId())));

            List<NetworkInterface> nics = imds.networkInterfaces();
            assertEquals(instance.getNetworkInterfaces().get(0).getId(), nics.get(0).getId());
            assertEquals(nics, await(imds.networkInterfacesAsync()));
            assertEquals(instance.getVolumeAttachments().size(), await(imds.volumeAttachmentsAsync()).size());
            Initialization init = imds.initialization();
            assertEquals(3, init.getKeys().size());

            AccessToken token = imds.identityToken(60, "n-1");
            assertEquals("n-1", token.nonce());
            assertTrue(token.secret().startsWith("eyJ"));
            assertFalse(token.toString().contains(token.secret()), token.toString());
            AccessToken iam = await(imds.iamTokenAsync(null, null, null));
            assertEquals(iam.secret(), imds.iamToken().secret(), "cached");

            byte[] userData = imds.userData();
            assertArrayEquals(userData, await(imds.userDataAsync()));
            assertEquals(imds.sshKeys(), await(imds.sshKeysAsync()));
            imds.waitUntilReady(Duration.ofSeconds(5));
            assertNull(await(imds.waitUntilReadyAsync()));

            Document raw = imds.get("instance");
            assertEquals("raw", raw.getTypeName());
            assertTrue(raw.getJson().contains("emu-vsi-1"));
            int pages = 0;
            for (Document page : imds.getPages("keys?limit=1")) {
                pages++;
            }
            assertEquals(3, pages);
            assertEquals(2, await(imds.getPagesAsync("keys?limit=2")).size());
            assertTrue(await(imds.getAllAsync("keys?limit=1")).contains(keys.get(2).getId()));
        }
    }

    @Test
    void settingsFromJava() throws Exception {
        ImdsFacade imds = ImdsFacade.builder()
                .endpoint(emu.getBase())
                .readEnv(false)
                .timeout(Duration.ofSeconds(3))
                .connectTimeout(Duration.ofMillis(500))
                .tokenLifetime(60)
                .maxAttempts(2)
                .maxResponseBytes(1L << 20)
                .secure(false)
                .build();
        try (imds) {
            assertEquals(emu.getBase(), imds.client().endpoint());
            assertEquals(Duration.ofSeconds(3), imds.client().timeout());
            assertEquals(60L, imds.identityToken().expiresInSeconds());
        }
    }

    @Test
    void aFutureCanBeCancelled() throws Exception {
        try (ImdsFacade imds = client()) {
            emu.call("PUT", "/faults/latency", "{\"ms\":2000}");
            CompletableFuture<Instance> slow = imds.instanceAsync();
            assertTrue(slow.cancel(true));
            assertTrue(slow.isCancelled());
        }
    }

    @Test
    void errorsAreWhatJavaCatches() throws Exception {
        try (ImdsFacade imds = client()) {
            ImdsNotFoundException missing = assertThrows(ImdsNotFoundException.class, () -> imds.key("nope"));
            assertTrue(missing instanceof ImdsFacadeException && missing instanceof RuntimeException);
            assertEquals("not_found", missing.getKind());
            assertEquals(Integer.valueOf(404), missing.getStatus());
            assertTrue(missing.getCause() instanceof ImdsException.NotFound, String.valueOf(missing.getCause()));
            ExecutionException failed = assertThrows(ExecutionException.class, () -> await(imds.keyAsync("nope")));
            assertTrue(failed.getCause() instanceof ImdsNotFoundException, String.valueOf(failed.getCause()));

            int before = emu.counters().get("requests").asInt();
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> imds.key("a/b"));
            assertTrue(bad instanceof ImdsInvalidInputException && bad instanceof ImdsFailure);
            assertEquals("invalid_input", ((ImdsFailure) bad).getKind());
            assertEquals("input", ((ImdsFailure) bad).getReason());
            assertThrows(ImdsInvalidInputException.class, () -> imds.identityToken(4000, null));
            ImdsInvalidInputException negative = assertThrows(ImdsInvalidInputException.class, () -> imds.identityToken(-1, null));
            assertTrue(negative.getMessage().contains("expires_in"), negative.getMessage());
            ExecutionException badFuture = assertThrows(ExecutionException.class, () -> await(imds.keyAsync("a\nb")));
            assertTrue(badFuture.getCause() instanceof IllegalArgumentException, String.valueOf(badFuture.getCause()));
            assertThrows(ImdsInvalidInputException.class, () -> imds.waitUntilReady(Duration.ofSeconds(-1)));
            assertThrows(IllegalArgumentException.class, () -> ImdsFacade.builder().tokenLifetime(-5));
            assertThrows(IllegalArgumentException.class, () -> ImdsFacade.builder().endpoint("ftp://127.0.0.1").readEnv(false).build());
            assertEquals(before, emu.counters().get("requests").asInt(), "invalid input sends nothing");
        }
    }

    @Test
    void transportFailuresAndDeadlines() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        try (ImdsFacade imds = ImdsFacade.builder().endpoint("http://127.0.0.1:" + port).readEnv(false)
                .maxAttempts(2).baseDelay(Duration.ofMillis(5)).build()) {
            ImdsRefusedException refused = assertThrows(ImdsRefusedException.class, imds::instance);
            assertEquals("refused", refused.getTransport());
        }
        try (Emulator hole = new Emulator("--black-hole");
                ImdsFacade imds = ImdsFacade.builder().endpoint(hole.getBase()).readEnv(false)
                        .timeout(Duration.ofMillis(700)).build()) {
            ImdsTimedOutException late = assertThrows(ImdsTimedOutException.class, imds::instance);
            assertEquals("timed_out", late.getKind());
            ExecutionException lateFuture = assertThrows(ExecutionException.class, () -> await(imds.instanceAsync()));
            assertTrue(lateFuture.getCause() instanceof ImdsTimedOutException, String.valueOf(lateFuture.getCause()));
        }
    }
}
