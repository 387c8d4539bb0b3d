package ai.colbertedge.jvm;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;
import ai.colbertedge.core.Manifest;
import ai.colbertedge.core.index.CentroidPrefilter;
import ai.colbertedge.core.index.Codecs;
import ai.colbertedge.core.index.MaxSim;
import ai.colbertedge.core.index.TopK;
import ai.colbertedge.core.text.Chars;
import ai.colbertedge.core.text.Tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-checkable unit tests of the core: JSON, half floats, MaxSim, top-k, the exact cut, whitespace, named errors. */
class CoreUnitTest {
    @Test
    void jsonReadsNestedValues() {
        Map<String, Object> v = Json.object(Json.parse(" {\"a\": [1, -2.5e1, true, null, \"x\\u00e9\\n\"], \"b\": {}} "), "v");
        List<Object> a = Json.array(v.get("a"), "a");
        assertEquals(Arrays.asList(1L, -25.0, true, null, "xé\n"), a);
        assertEquals(0, Json.object(v.get("b"), "b").size());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"{\"a\": 1,}", "[1 2]", "\"open", "{\"a\" 1}", "01x", "[1] 2"})
    void jsonRejectsMalformedText(String text) {
        FormatError error = assertThrows(FormatError.class, () -> Json.parse(text));
        assertTrue(error.getMessage().startsWith("invalid JSON at offset"), error.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"0x3c00, 1.0", "0xc000, -2.0", "0x3555, 0.33325195", "0x0001, 5.9604645e-8", "0x7bff, 65504.0", "0x0000, 0.0"})
    void halfFloatsDecodeExactly(String bits, float expected) {
        assertEquals(expected, Codecs.halfToFloat(Integer.decode(bits)));
    }

    @Test
    void maxSimByHand() {
        float[][] q = {{1, 0}, {0, 1}};
        float[][] d1 = {{1, 0}, {0.6f, 0.8f}}; // maxes 1.0 and 0.8 -> 1.8
        float[][] d2 = {{0, -1}}; // maxes 0.0 and -1.0 -> -1.0
        assertEquals(1.8f, MaxSim.score(q, d1), 1e-6);
        assertEquals(-1.0f, MaxSim.score(q, d2), 1e-6);
    }

    @Test
    void topKBreaksTiesByLowerDocNo() {
        TopK top = new TopK(2);
        top.offer(7, 1.0f);
        top.offer(3, 1.0f);
        top.offer(5, 2.0f);
        top.offer(1, 0.5f);
        List<TopK.Entry> best = top.result();
        assertEquals(5, best.get(0).docNo);
        assertEquals(3, best.get(1).docNo);
    }

    @Test
    void exactCutKeepsCandidatesThenFillsTheTokenBudget() {
        // By interaction score (ties: lower doc_no): doc 4 (3.0, 10 tokens), 2 (2.0, 30), 9 (2.0, 5),
        // 1 (1.0, 20), 7 (0.5, 1); cumulative tokens in that order 10, 40, 45, 65, 66.
        CentroidPrefilter.Interaction scored = new CentroidPrefilter.Interaction(
                new long[] {9, 1, 4, 7, 2}, new int[] {5, 20, 10, 1, 30}, new float[] {2f, 1f, 3f, 0.5f, 2f});
        assertArrayEquals(new long[] {2, 4}, scored.keep(2, null)); // exactly candidates; 2 before 9
        assertArrayEquals(new long[] {2, 4}, scored.keep(2, 44)); // 45 > 44: nothing added
        assertArrayEquals(new long[] {2, 4, 9}, scored.keep(2, 45)); // the budget is inclusive
        assertArrayEquals(new long[] {2, 4, 9}, scored.keep(2, 64)); // stops at doc 1 (65); doc 7 would fit
        assertArrayEquals(new long[] {4}, scored.keep(1, 9)); // budget below one document: still candidates
        assertArrayEquals(new long[] {1, 2, 4, 7, 9}, scored.keep(2, 66));
        assertArrayEquals(new long[] {1, 2, 4, 7, 9}, scored.keep(8, null)); // fewer than candidates: all
    }

    @Test
    void pythonStripRemovesNbspAndKeepsInnerSpace() {
        assertEquals("a \u00a0b", Chars.pythonStrip("\u00a0\u3000 a \u00a0b\u001f\n"));
        assertEquals("a\uFFFDb", Chars.replaceLoneSurrogates("a\ud800b"));
        assertEquals("\ud83d\ude42", Chars.replaceLoneSurrogates("\ud83d\ude42"));
    }

    @Test
    void unsupportedTokenizerComponentsAreNamed() {
        String json = "{\"normalizer\": {\"type\": \"Precompiled\"}, \"pre_tokenizer\": null, "
                + "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0}}}";
        FormatError error = assertThrows(FormatError.class, () -> Tokenizer.fromJson(json));
        assertTrue(error.getMessage().contains("'Precompiled' is not supported"), error.getMessage());
        String unigram = "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
        error = assertThrows(FormatError.class, () -> Tokenizer.fromJson(unigram));
        assertTrue(error.getMessage().contains("'Unigram' is not supported"), error.getMessage());
    }

    @Test
    void aBundleWithAChangedTokenizerIsRefused(@TempDir Path tmp) throws Exception {
        File bundle = Golden.bundle("lfm2-fp32");
        for (String name : new String[] {"manifest.json", "tokenizer.json"}) {
            Files.copy(new File(bundle, name).toPath(), tmp.resolve(name));
        }
        Files.write(tmp.resolve("model.onnx"), new byte[] {1, 2, 3});
        FormatError error = assertThrows(FormatError.class, () -> Manifest.read(tmp.toFile(), true));
        assertTrue(error.getMessage().contains("model.onnx does not match its manifest"), error.getMessage());
        Files.write(tmp.resolve("manifest.json"), "{\"format\": \"other\"}".getBytes(StandardCharsets.UTF_8));
        error = assertThrows(FormatError.class, () -> Manifest.read(tmp.toFile(), false));
        assertTrue(error.getMessage().contains("is not a colbert-edge bundle manifest"), error.getMessage());
    }

    @Test
    void manifestContractIsRead() throws Exception {
        Manifest m = Manifest.read(Golden.bundle("lfm2-fp32"), true);
        assertEquals("lfm2", m.architecture);
        assertEquals(32, m.contract.queryLength);
        assertTrue(m.contract.doQueryExpansion);
        assertEquals(1, m.contract.prefixPosition);
    }
}
