package ai.colbertedge.jvm;

import ai.colbertedge.core.Manifest;
import ai.colbertedge.core.QueryTokenizer;
import ai.colbertedge.core.text.Tokenizer;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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

    /**
     * The tokenizer alone (no contract) on every passage of the sample index and the 104 eval
     * queries: multilingual text well beyond the query set, for both bundles' tokenizer.json files
     * and a Split-regex + ignore_merges byte-level BPE (the shape of large models' tokenizers).
     */
    @TestFactory
    List<DynamicTest> passageIdsMatchPython() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        List<Object> texts = Golden.list(Golden.data().get("texts"));
        Map<String, Object> ids = Golden.map(Golden.data().get("text_ids"));
        for (String name : ids.keySet()) {
            String file = (String) Golden.map(Golden.data().get("tokenizer_files")).get(name);
            Tokenizer tokenizer = Tokenizer.fromJson(Manifest.readText(new File(file)));
            List<Object> expected = Golden.list(ids.get(name));
            tests.add(DynamicTest.dynamicTest(name + ": " + texts.size() + " passages and eval queries", () -> {
                int wrong = 0;
                String first = null;
                for (int i = 0; i < texts.size(); i++) {
                    long[] want = Golden.longs(expected.get(i));
                    int[] got = tokenizer.encode((String) texts.get(i), 0);
                    long[] gotLong = new long[got.length];
                    for (int j = 0; j < got.length; j++) {
                        gotLong[j] = got[j];
                    }
                    if (!Arrays.equals(want, gotLong)) {
                        wrong++;
                        if (first == null) {
                            first = "text " + i + " " + Golden.shortQuery(texts.get(i)) + ": python "
                                    + Arrays.toString(want) + " java " + Arrays.toString(gotLong);
                        }
                    }
                }
                assertEquals(0, wrong, wrong + " of " + texts.size() + " texts tokenize differently; first: " + first);
            }));
        }
        return tests;
    }
}
