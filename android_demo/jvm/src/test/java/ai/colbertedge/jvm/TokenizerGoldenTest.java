package ai.colbertedge.jvm;

import ai.colbertedge.core.Manifest;
import ai.colbertedge.core.QueryTokenizer;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Cross-language contract: for each golden query and both bundles (byte-level BPE LFM2, WordPiece
 * MiniLM), the Java QueryTokenizer gives exactly the input ids and attention mask of the Python
 * runtime's ContractTokenizer.
 */
class TokenizerGoldenTest {
    @TestFactory
    List<DynamicTest> queryIdsMatchPython() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        List<Object> queries = Golden.queries();
        Map<String, Object> tokens = Golden.map(Golden.data().get("tokens"));
        for (String name : tokens.keySet()) {
            File bundle = Golden.bundle(name);
            Manifest manifest = Manifest.read(bundle, true);
            QueryTokenizer tokenizer = QueryTokenizer.load(bundle, manifest);
            List<Object> expected = Golden.list(tokens.get(name));
            for (int i = 0; i < queries.size(); i++) {
                String query = (String) queries.get(i);
                Map<String, Object> want = Golden.map(expected.get(i));
                tests.add(DynamicTest.dynamicTest(name + " query " + i + " " + Golden.shortQuery(query), () -> {
                    QueryTokenizer.Tokens got = tokenizer.encode(query);
                    long[] ids = Golden.longs(want.get("ids"));
                    assertArrayEquals(ids, got.inputIds, () -> "ids differ: python " + Arrays.toString(ids)
                            + " java " + Arrays.toString(got.inputIds));
                    assertArrayEquals(Golden.longs(want.get("mask")), got.attentionMask, "attention masks differ");
                }));
            }
        }
        return tests;
    }
}
