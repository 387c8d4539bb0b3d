package ai.colbertedge.jvm;

import ai.colbertedge.core.Json;
import ai.colbertedge.core.Manifest;
import ai.colbertedge.core.QueryTokenizer;
import ai.colbertedge.core.index.EdgeIndex;
import ai.colbertedge.core.text.Tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The golden comparisons can fail: if the Python side changed the index encoding or the tokenizer
 * (simulated here on copies), the same checks the golden tests run report a difference.
 */
class GoldenSensitivityTest {
    @TempDir
    Path tmp;

    /** A copy of the residual4 index whose bucket weights were changed (as a Python-side codec change would). */
    private File indexWithChangedWeights() throws Exception {
        Map<String, Object> golden = Golden.map(Golden.map(Golden.data().get("indexes")).get("residual4"));
        File copy = tmp.resolve("changed.db").toFile();
        Files.copy(new File(Golden.dir(), (String) golden.get("file")).toPath(), copy.toPath());
        try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + copy.getPath())) {
            String residual;
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT value FROM meta WHERE key='residual'")) {
                rs.next();
                residual = rs.getString(1);
            }
            Map<String, Object> parsed = Json.object(Json.parse(residual), "residual");
            List<Object> weights = Json.array(parsed.get("weights"), "weights");
            StringBuilder changed = new StringBuilder("{\"cutoffs\": [0], \"weights\": [");
            for (int i = 0; i < weights.size(); i++) {
                changed.append(i == 0 ? "" : ", ").append(Json.number(weights.get(i), "w") * 1.25);
            }
            changed.append("]}");
            try (PreparedStatement ps = conn.prepareStatement("UPDATE meta SET value=? WHERE key='residual'")) {
                ps.setString(1, changed.toString());
                ps.executeUpdate();
            }
        }
        return copy;
    }

    @Test
    void changedResidualWeightsFailTheDecodeComparison() throws Exception {
        Map<String, Object> golden = Golden.map(Golden.map(Golden.data().get("indexes")).get("residual4"));
        Map<String, Object> doc = Golden.map(Golden.list(golden.get("documents")).get(0));
        try (EdgeIndex index = EdgeIndex.open(JdbcIndexStore.open(indexWithChangedWeights().getPath()))) {
            double diff = Golden.maxAbsDiff(Golden.matrix(doc.get("vectors")), index.vectors((String) doc.get("id")));
            assertTrue(diff > Golden.VECTOR_TOLERANCE, "a changed codec went unnoticed (diff " + diff + ")");
        }
    }

    @Test
    void changedResidualWeightsFailTheSearchComparison() throws Exception {
        Map<String, Object> golden = Golden.map(Golden.map(Golden.data().get("indexes")).get("residual4"));
        Map<String, Object> exhaustive = null;
        for (Object setting : Golden.list(golden.get("searches"))) {
            if (Golden.map(setting).get("nprobe") == null && Golden.map(setting).get("candidates") == null) {
                exhaustive = Golden.map(setting);
            }
        }
        assertTrue(exhaustive != null, "the golden file has an exhaustive search");
        float[][] query = Golden.matrix(Golden.list(Golden.map(Golden.data().get("query_vectors")).get("lfm2-fp32")).get(0));
        List<Object> want = Golden.list(Golden.list(exhaustive.get("results")).get(0));
        try (EdgeIndex index = EdgeIndex.open(JdbcIndexStore.open(indexWithChangedWeights().getPath()))) {
            assertThrows(AssertionFailedError.class, () -> SearchGoldenTest.compareHits(want, index.search(query, 10, null, null, null)));
        }
    }

    @Test
    void oneFlippedVectorByteFailsTheDecodeComparison() throws Exception {
        Map<String, Object> golden = Golden.map(Golden.map(Golden.data().get("indexes")).get("fp16"));
        Map<String, Object> doc = Golden.map(Golden.list(golden.get("documents")).get(0));
        File copy = tmp.resolve("flipped.db").toFile();
        Files.copy(new File(Golden.dir(), (String) golden.get("file")).toPath(), copy.toPath());
        try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + copy.getPath())) {
            byte[] blob;
            try (PreparedStatement ps = conn.prepareStatement("SELECT vectors FROM documents WHERE id=?")) {
                ps.setString(1, (String) doc.get("id"));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    blob = rs.getBytes(1);
                }
            }
            blob[1] ^= 0x04; // an exponent bit of the first half float
            try (PreparedStatement ps = conn.prepareStatement("UPDATE documents SET vectors=? WHERE id=?")) {
                ps.setBytes(1, blob);
                ps.setString(2, (String) doc.get("id"));
                ps.executeUpdate();
            }
        }
        try (EdgeIndex index = EdgeIndex.open(JdbcIndexStore.open(copy.getPath()))) {
            double diff = Golden.maxAbsDiff(Golden.matrix(doc.get("vectors")), index.vectors((String) doc.get("id")));
            assertTrue(diff > Golden.VECTOR_TOLERANCE, "a flipped byte went unnoticed (diff " + diff + ")");
        }
    }

    @Test
    void aDroppedMergeChangesSomeGoldenQueryIds() throws Exception {
        File bundle = Golden.bundle("lfm2-fp32");
        Manifest manifest = Manifest.read(bundle, false);
        Map<String, Object> spec = Json.object(Json.parse(Manifest.readText(new File(bundle, "tokenizer.json"))), "t");
        Json.array(Json.object(spec.get("model"), "model").get("merges"), "merges").remove(0);
        QueryTokenizer changed = new QueryTokenizer(Tokenizer.fromSpec(spec), manifest.contract);
        List<Object> queries = Golden.queries();
        List<Object> expected = Golden.list(Golden.map(Golden.data().get("tokens")).get("lfm2-fp32"));
        boolean allSame = true;
        for (int i = 0; i < queries.size(); i++) {
            long[] want = Golden.longs(Golden.map(expected.get(i)).get("ids"));
            allSame &= Arrays.equals(want, changed.encode((String) queries.get(i)).inputIds);
        }
        assertFalse(allSame, "dropping the first BPE merge changed no golden query's ids");
    }
}
