package ai.colbertedge.jvm;

import ai.colbertedge.core.Json;
import ai.colbertedge.core.index.CentroidPrefilter;
import ai.colbertedge.core.index.EdgeIndex;
import ai.colbertedge.core.index.Hit;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Cross-language contract on the index file: the Java reader decodes the same vectors as Python
 * (residual4 and fp16 indexes), proposes the same candidates with the same approximate scores,
 * gives the same centroid-interaction scores and token counts, keeps the same documents for exact
 * MaxSim, and returns the same top 10 (ids in order, scores within tolerance) for every golden
 * query at every golden (nprobe, candidates, exact_tokens) setting, exhaustive included. The
 * queries' vectors are the ones the Python runtime encoded (golden.json), so no ONNX Runtime is
 * needed here.
 */
class SearchGoldenTest {
    /** Below this gap between the last probed and the next centroid, float rounding decides. */
    static final double PROBE_NOISE = 2e-6;
    /** Python scores closer than this (relative) are a near-tie: their order may differ. */
    static final double TIE = 1e-5;

    @TestFactory
    List<DynamicTest> decodedVectorsMatchPython() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        Map<String, Object> indexes = Golden.map(Golden.data().get("indexes"));
        for (String name : indexes.keySet()) {
            Map<String, Object> golden = Golden.map(indexes.get(name));
            File file = new File(Golden.dir(), Json.string(golden.get("file"), "index file"));
            for (Object item : Golden.list(golden.get("documents"))) {
                Map<String, Object> doc = Golden.map(item);
                String id = (String) doc.get("id");
                tests.add(DynamicTest.dynamicTest(name + " decode " + id, () -> {
                    try (EdgeIndex index = EdgeIndex.open(JdbcIndexStore.open(file.getPath()))) {
                        float[][] got = index.vectors(id);
                        assertTrue(got != null, "document " + id + " not found");
                        double diff = Golden.maxAbsDiff(Golden.matrix(doc.get("vectors")), got);
                        assertTrue(diff <= Golden.VECTOR_TOLERANCE, "decoded vectors differ by " + diff);
                    }
                }));
            }
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> searchesMatchPython() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        List<Object> queries = Golden.queries();
        List<Object> vectors = Golden.list(Golden.map(Golden.data().get("query_vectors")).get("lfm2-fp32"));
        Map<String, Object> indexes = Golden.map(Golden.data().get("indexes"));
        for (String name : indexes.keySet()) {
            Map<String, Object> golden = Golden.map(indexes.get(name));
            File file = new File(Golden.dir(), Json.string(golden.get("file"), "index file"));
            EdgeIndex index = EdgeIndex.open(JdbcIndexStore.open(file.getPath()));
            tests.add(DynamicTest.dynamicTest(name + " meta", () -> {
                assertEquals(golden.get("codec"), index.codec);
                assertEquals(Json.integer(golden.get("n_centroids"), "n"), index.nCentroids());
            }));
            for (Object settingItem : Golden.list(golden.get("searches"))) {
                Map<String, Object> setting = Golden.map(settingItem);
                Integer nprobe = Golden.intOrNull(setting.get("nprobe"));
                Integer candidates = Golden.intOrNull(setting.get("candidates"));
                Integer exactTokens = Golden.intOrNull(setting.get("exact_tokens"));
                int k = (int) Json.integer(setting.get("k"), "k");
                List<Object> results = Golden.list(setting.get("results"));
                List<Object> stages = Golden.list(setting.get("stages"));
                for (int i = 0; i < queries.size(); i++) {
                    float[][] query = Golden.matrix(vectors.get(i));
                    Map<String, Object> stage = Golden.map(stages.get(i));
                    List<Object> want = Golden.list(results.get(i));
                    List<Object> ties = Golden.list(stage.get("ties"));
                    // "<setting> query i <stage>: '<text>'": the console tree cuts long names at the end
                    String where = name + " nprobe=" + nprobe + " candidates=" + candidates + " exact_tokens="
                            + exactTokens + " query " + i + " ";
                    String text = ": " + Golden.shortQuery(queries.get(i));
                    Function<String, String> label = stageName -> where + stageName + text;
                    if (Boolean.TRUE.equals(stage.get("exhaustive"))) {
                        tests.add(DynamicTest.dynamicTest(label.apply("exhaustive top " + k), () -> {
                            assertTrue(index.candidates(query, nprobe, k) == null, "an untrained index has no prefilter");
                            compareHits(want, index.search(query, k, nprobe, candidates, exactTokens));
                        }));
                        continue;
                    }
                    Object margin = stage.get("probe_margin");
                    if (margin != null && Json.number(margin, "probe_margin") < PROBE_NOISE) {
                        // FAISS (BLAS) and Java round dot products differently; with a near-tie at the
                        // probe boundary they may probe different centroids, so this query is not compared.
                        tests.add(DynamicTest.dynamicTest(label.apply("not compared: probe near-tie " + margin),
                                () -> assertTrue(Json.number(margin, "m") < PROBE_NOISE)));
                        continue;
                    }
                    tests.add(DynamicTest.dynamicTest(label.apply("candidates"), () ->
                            comparePrefilter(index, query, nprobe, k, stage)));
                    if (stage.containsKey("interaction")) {
                        tests.add(DynamicTest.dynamicTest(label.apply("centroid interaction"), () ->
                                compareInteraction(index, query, nprobe, k, candidates, stage, ties.contains("approximate"))));
                        if (!ties.contains("interaction")) {
                            tests.add(DynamicTest.dynamicTest(label.apply("cut to exact MaxSim"), () ->
                                    compareExactCut(index, query, candidates, exactTokens, stage)));
                        }
                    }
                    if (!ties.isEmpty()) {
                        // A near-tie at a cut: numpy's argpartition (approximation) chooses among tied
                        // documents arbitrarily, float rounding may order the interaction either way;
                        // the stages' scores above are still compared.
                        continue;
                    }
                    tests.add(DynamicTest.dynamicTest(label.apply("top " + k), () ->
                            compareHits(want, index.search(query, k, nprobe, candidates, exactTokens))));
                }
            }
        }
        return tests;
    }

    /**
     * Java's interaction scores and token counts of the documents Python's interaction saw, and
     * (without a tie at the approximation cut) the same documents.
     */
    static void compareInteraction(EdgeIndex index, float[][] query, Integer nprobe, int k, int candidates,
                                   Map<String, Object> stage, boolean approximateTie) throws Exception {
        List<Object> ids = Golden.list(stage.get("interaction_ids"));
        List<Object> scores = Golden.list(stage.get("interaction"));
        long[] tokens = Golden.longs(stage.get("interaction_tokens"));
        long[] docNos = docNos(index, ids);
        CentroidPrefilter.Interaction got = index.interaction(query, docNos);
        assertEquals(docNos.length, got.docNos.length, "documents with a centroid list");
        Map<Long, Integer> at = new HashMap<>();
        for (int j = 0; j < got.docNos.length; j++) {
            at.put(got.docNos[j], j);
        }
        for (int j = 0; j < docNos.length; j++) {
            double expected = Json.number(scores.get(j), "interaction");
            Integer g = at.get(docNos[j]);
            assertTrue(g != null && Golden.scoreClose(expected, got.scores[g]),
                    "interaction score of " + ids.get(j) + ": python " + expected + " java "
                            + (g == null ? null : got.scores[g]));
            assertEquals(tokens[j], got.nTokens[g], "n_tokens of " + ids.get(j));
        }
        if (!approximateTie) {
            long[] pool = index.candidates(query, nprobe, k).best(EdgeIndex.WIDEN * candidates);
            long[] expected = docNos.clone();
            java.util.Arrays.sort(expected);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, pool,
                    "documents passed to the centroid interaction (WIDEN * candidates best by approximation)");
        }
    }

    /** The documents Java keeps for exact MaxSim out of Python's interaction stage are the ones Python kept. */
    static void compareExactCut(EdgeIndex index, float[][] query, int candidates, Integer exactTokens,
                                Map<String, Object> stage) throws Exception {
        long[] expected = docNos(index, Golden.list(stage.get("exact_ids")));
        java.util.Arrays.sort(expected);
        long[] got = index.interaction(query, docNos(index, Golden.list(stage.get("interaction_ids"))))
                .keep(candidates, exactTokens);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got, "documents kept for exact MaxSim ("
                + expected.length + " in Python, " + got.length + " in Java; candidates=" + candidates
                + ", exact_tokens=" + exactTokens + ")");
    }

    private static long[] docNos(EdgeIndex index, List<Object> ids) throws Exception {
        long[] out = new long[ids.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = index.store().docNoOf((String) ids.get(j));
        }
        return out;
    }

    static void comparePrefilter(EdgeIndex index, float[][] query, Integer nprobe, int k, Map<String, Object> pre)
            throws Exception {
        CentroidPrefilter.Candidates got = index.candidates(query, nprobe, k);
        assertEquals(Json.integer(pre.get("probe"), "probe"), got.probe, "nprobe after growth");
        List<Object> ids = Golden.list(pre.get("ids"));
        List<Object> approx = Golden.list(pre.get("approx"));
        assertEquals(ids.size(), approx.size(), "golden candidates and scores");
        assertEquals(ids.size(), got.docNos.length, "number of candidates");
        Map<String, Float> byId = new HashMap<>();
        for (int j = 0; j < ids.size(); j++) {
            byId.put((String) ids.get(j), (float) Json.number(approx.get(j), "approx"));
        }
        long[] docNos = got.docNos;
        Map<Long, String> idOf = new HashMap<>();
        for (ai.colbertedge.core.index.IndexStore.DocumentInfo d : describe(index, docNos)) {
            idOf.put(d.docNo, d.id);
        }
        for (int j = 0; j < docNos.length; j++) {
            String id = idOf.get(docNos[j]);
            Float expected = byId.get(id);
            if (expected == null) {
                fail("Java proposes " + id + ", Python does not");
            }
            assertTrue(Golden.scoreClose(expected, got.scores[j]),
                    "approximate score of " + id + ": python " + expected + " java " + got.scores[j]);
        }
    }

    private static List<ai.colbertedge.core.index.IndexStore.DocumentInfo> describe(EdgeIndex index, long[] docNos)
            throws Exception {
        return index.store().describe(docNos);
    }

    /**
     * Same ids in the same order with scores within tolerance; where Python's score at a position is
     * within {@link #TIE} of a neighbour's (a near-tie float rounding may order either way, at the
     * k boundary too), the Java id there may differ but its score must still match.
     */
    static void compareHits(List<Object> want, List<Hit> got) {
        assertEquals(want.size(), got.size(), "number of hits");
        for (int j = 0; j < got.size(); j++) {
            Map<String, Object> w = Golden.map(want.get(j));
            double expected = Json.number(w.get("score"), "score");
            assertTrue(Golden.scoreClose(expected, got.get(j).score),
                    "score at rank " + j + ": python " + expected + " (" + w.get("id") + ") java "
                            + got.get(j).score + " (" + got.get(j).id + ")");
            if (!w.get("id").equals(got.get(j).id)) {
                boolean nearTie = (j > 0 && close(expected, Json.number(Golden.map(want.get(j - 1)).get("score"), "s")))
                        || (j + 1 < want.size() && close(expected, Json.number(Golden.map(want.get(j + 1)).get("score"), "s")))
                        || j == want.size() - 1;
                assertTrue(nearTie, "ranking differs at rank " + j + ": python " + w.get("id") + " java " + got.get(j).id);
            }
        }
    }

    private static boolean close(double a, double b) {
        return Math.abs(a - b) <= TIE * Math.max(1.0, Math.abs(a));
    }
}
