package io.github.vpcimds

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.databind.node.MissingNode
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.lang.reflect.Modifier

/**
 * Every fixture of `tests/vectors/fixtures` through the whole path of a typed call
 * (the core's parse, the driver's record, its JSON, the generated record, uniffi,
 * the Kotlin data class), answered by an in-process transport (no network): each
 * field of the typed result equals the fixture's member of the same (snake_case) name.
 */
class ModelsTest {
    private val mapper = ObjectMapper()
    private val fixtures = File(System.getProperty("vectors.dir") ?: "../../tests/vectors", "fixtures")

    /** Answers the token request with a token, every other request with [body]. */
    private class Canned(private val body: ByteArray) : Transport {
        override fun send(request: HttpRequest): HttpResponse =
            if (request.url.contains("/token")) {
                HttpResponse(200u, null, """{"access_token":"eyJ0.eyJ0.c2ln","expires_in":300}""".toByteArray())
            } else {
                HttpResponse(200u, null, body)
            }
    }

    private fun client(body: ByteArray) =
        ImdsClient(ImdsSettings(endpoint = "http://127.0.0.1:9"), Canned(body), null)

    private fun fixture(name: String) = File(fixtures, name).readBytes()

    private val seen = mutableSetOf<String>()
    private var compared = 0

    /** [value] (a generated record, a list, a leaf) against [node], recursively. */
    private fun same(path: String, value: Any?, node: JsonNode) {
        val present = !node.isMissingNode && !node.isNull
        when (value) {
            null -> assertFalse(present, "$path: null, fixture has $node")
            is String -> assertEquals(node.textValue(), value, path)
            is Long -> assertTrue(node.isIntegralNumber && node.asLong() == value, "$path: $value vs $node")
            is Boolean -> assertTrue(node.isBoolean && node.asBoolean() == value, "$path: $value vs $node")
            is List<*> -> {
                val items = if (present) node.toList() else emptyList()
                assertEquals(items.size, value.size, "$path: list length")
                value.forEachIndexed { i, v -> same("$path[$i]", v, items[i]) }
            }
            else -> {
                assertTrue(node.isObject, "$path: ${value.javaClass.simpleName} vs $node")
                seen += value.javaClass.simpleName
                for (f in value.javaClass.declaredFields.filter { !Modifier.isStatic(it.modifiers) }) {
                    f.isAccessible = true
                    val key = if (f.name == "className") "class" else f.name.replace(Regex("[A-Z]")) { "_" + it.value.lowercase() }
                    same("$path.$key", f.get(value), node.get(key) ?: MissingNode.getInstance())
                }
            }
        }
        compared++
    }

    @Test
    fun everyFixtureConverts() {
        val csr = "-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----\n"
        val cases: List<Triple<String, (ImdsClient) -> Any, (JsonNode) -> JsonNode>> = listOf(
            Triple("instance.json", { c -> c.instance() }, { it }),
            Triple("initialization.json", { c -> c.initialization() }, { it }),
            Triple("network_interfaces.json", { c -> c.networkInterfaces() }, { it["network_interfaces"] }),
            Triple("network_interface.json", { c -> c.networkInterface("x") }, { it }),
            Triple("volume_attachments.json", { c -> c.volumeAttachments() }, { it["volume_attachments"] }),
            Triple("volume_attachment.json", { c -> c.volumeAttachment("x") }, { it }),
            Triple("keys.json", { c -> c.keys().next()!! }, { it["keys"] }),
            Triple("key.json", { c -> c.key("x") }, { it }),
            Triple("placement_group.json", { c -> c.placementGroup("x") }, { it }),
            Triple("certificate.json", { c -> c.identityCertificate(csr) }, { it }),
        )
        val names = fixtures.list()!!.filter { it.endsWith(".json") }.toSet()
        assertEquals(names, cases.map { it.first }.toSet(), "every fixture has a case")
        for ((name, call, part) in cases) {
            val body = fixture(name)
            client(body).use { same(name, call(it), part(mapper.readTree(body))) }
        }
        val expected = setOf("Instance", "Vcpu", "Burst", "NameRef", "Reference", "MetadataService", "Availability",
            "NetworkInterface", "VolumeAttachment", "Key", "PlacementGroup", "Initialization", "KeyRef", "IdentityCertificate")
        assertTrue(seen.containsAll(expected), "records met: $seen")
        println("models: ${cases.size} fixtures, ${seen.size} record types, $compared values compared")
    }

    @Test
    fun keywordFieldsAndUnknownMembers() {
        val body = """{"id":"i","availability":{"class":"spot"},"added_by_ibm_later":{"x":1},"memory":8}"""
        val instance = client(body.toByteArray()).use { it.instance() }
        assertEquals("spot", instance.availability?.className)
        assertEquals(8L, instance.memory)
        assertEquals(emptyList<Reason>(), instance.statusReasons, "absent lists are empty")
        assertEquals(null, instance.vcpu)
    }

    @Test
    fun aDocumentOfTheWrongShapeIsBadResponse() {
        val e = assertThrows<ImdsException> { client("""{"id": 7}""".toByteArray()).use { it.key("x") } }
        assertEquals("bad_response", e.kind, "${e.message}")
    }
}
