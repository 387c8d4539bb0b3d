package ai.colbertedge.core.text;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face tokenizer.json, encoding one text the way the Rust {@code tokenizers} crate does
 * with {@code add_special_tokens=True} and {@code enable_truncation(max_length)}:
 *
 * <ol>
 *   <li>added tokens with {@code normalized: false} are split out of the raw text (leftmost-longest);</li>
 *   <li>the rest is normalised (see {@link Normalizers}); added tokens with {@code normalized: true}
 *       are split out of the normalised text;</li>
 *   <li>the rest is pre-tokenized ({@link PreTokenizers}) and each piece tokenized by the model
 *       ({@link Bpe} or {@link WordPiece});</li>
 *   <li>the content is truncated to {@code max_length} minus the special tokens the post-processor
 *       adds, then the post-processor adds them (TemplateProcessing, BertProcessing,
 *       RobertaProcessing, ByteLevel, Sequence).</li>
 * </ol>
 * The file's own {@code truncation} and {@code padding} are ignored, as the Python runtime ignores them.
 * Unsupported components fail when the file is read, with a FormatError naming them.
 */
public final class Tokenizer {
    private final List<AddedToken> rawAdded = new ArrayList<>();
    private final List<AddedToken> normalizedAdded = new ArrayList<>();
    private final Normalizers.Step normalizer;
    private final PreTokenizers.Step preTokenizer;
    private final Model model;
    private final int[] before;
    private final int[] after;

    private static final class AddedToken {
        final String content;
        final int id;
        final boolean lstrip;
        final boolean rstrip;

        AddedToken(String content, int id, boolean lstrip, boolean rstrip) {
            this.content = content;
            this.id = id;
            this.lstrip = lstrip;
            this.rstrip = rstrip;
        }
    }

    private Tokenizer(Map<String, Object> spec) {
        normalizer = Normalizers.fromJson(spec.get("normalizer"));
        preTokenizer = PreTokenizers.fromJson(spec.get("pre_tokenizer"));
        Map<String, Object> modelSpec = Json.object(spec.get("model"), "tokenizer.json model");
        String type = String.valueOf(modelSpec.get("type"));
        if (type.equals("BPE")) {
            model = new Bpe(modelSpec);
        } else if (type.equals("WordPiece")) {
            model = new WordPiece(modelSpec);
        } else {
            throw new FormatError("tokenizer.json model type '" + type + "' is not supported by the Java tokenizer "
                    + "(supported: BPE, WordPiece)");
        }
        Object added = spec.get("added_tokens");
        if (added != null) {
            for (Object item : Json.array(added, "tokenizer.json added_tokens")) {
                Map<String, Object> t = Json.object(item, "tokenizer.json added token");
                String content = Json.string(t.get("content"), "added token content");
                int id = (int) Json.integer(t.get("id"), "added token id");
                if (Boolean.TRUE.equals(t.get("single_word"))) {
                    throw new FormatError("tokenizer.json added token '" + content + "' has single_word: true, "
                            + "which the Java tokenizer does not support");
                }
                boolean lstrip = Boolean.TRUE.equals(t.get("lstrip"));
                boolean rstrip = Boolean.TRUE.equals(t.get("rstrip"));
                if (Boolean.TRUE.equals(t.get("normalized"))) {
                    normalizedAdded.add(new AddedToken(normalizer.apply(content), id, lstrip, rstrip));
                } else {
                    rawAdded.add(new AddedToken(content, id, lstrip, rstrip));
                }
            }
        }
        List<Integer> head = new ArrayList<>();
        List<Integer> tail = new ArrayList<>();
        readPostProcessor(spec.get("post_processor"), head, tail);
        before = toArray(head);
        after = toArray(tail);
    }

    /** Parse tokenizer.json text. */
    public static Tokenizer fromJson(String json) {
        return fromSpec(Json.object(Json.parse(json), "tokenizer.json"));
    }

    /** Build from parsed tokenizer.json (see {@link Json}). */
    public static Tokenizer fromSpec(Map<String, Object> spec) {
        return new Tokenizer(spec);
    }

    /** How many special tokens the post-processor adds to a single sequence. */
    public int numSpecialTokens() {
        return before.length + after.length;
    }

    /**
     * Token ids of {@code text} with the special tokens, at most {@code maxLength} of them
     * ({@code maxLength <= 0}: no truncation). The content is cut, never the special tokens.
     */
    public int[] encode(String text, int maxLength) {
        List<Integer> content = new ArrayList<>();
        for (Object segment : splitAdded(text, rawAdded)) {
            if (segment instanceof Integer) {
                content.add((Integer) segment);
                continue;
            }
            String normalized = normalizer.apply((String) segment);
            for (Object part : splitAdded(normalized, normalizedAdded)) {
                if (part instanceof Integer) {
                    content.add((Integer) part);
                    continue;
                }
                List<String> start = new ArrayList<>();
                start.add((String) part);
                for (String piece : preTokenizer.apply(start)) {
                    model.tokenize(piece, content);
                }
            }
        }
        int keep = content.size();
        if (maxLength > 0) {
            keep = Math.min(keep, Math.max(0, maxLength - numSpecialTokens()));
        }
        int[] ids = new int[before.length + keep + after.length];
        System.arraycopy(before, 0, ids, 0, before.length);
        for (int i = 0; i < keep; i++) {
            ids[before.length + i] = content.get(i);
        }
        System.arraycopy(after, 0, ids, before.length + keep, after.length);
        return ids;
    }

    /** Text split into String segments and Integer ids of added tokens (leftmost-longest matches). */
    private static List<Object> splitAdded(String text, List<AddedToken> tokens) {
        List<Object> out = new ArrayList<>();
        if (tokens.isEmpty()) {
            if (!text.isEmpty()) {
                out.add(text);
            }
            return out;
        }
        int segmentStart = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken best = null;
            for (AddedToken token : tokens) {
                if (!token.content.isEmpty() && text.startsWith(token.content, i)
                        && (best == null || token.content.length() > best.content.length())) {
                    best = token;
                }
            }
            if (best == null) {
                i++;
                continue;
            }
            int start = i;
            int end = i + best.content.length();
            if (best.lstrip) {
                while (start > segmentStart && Chars.isWhiteSpace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (best.rstrip) {
                while (end < text.length() && Chars.isWhiteSpace(text.charAt(end))) {
                    end++;
                }
            }
            if (start > segmentStart) {
                out.add(text.substring(segmentStart, start));
            }
            out.add(best.id);
            segmentStart = end;
            i = end;
        }
        if (segmentStart < text.length()) {
            out.add(text.substring(segmentStart));
        }
        return out;
    }

    private static void readPostProcessor(Object spec, List<Integer> head, List<Integer> tail) {
        if (spec == null) {
            return;
        }
        Map<String, Object> p = Json.object(spec, "tokenizer.json post_processor");
        String type = String.valueOf(p.get("type"));
        switch (type) {
            case "TemplateProcessing": {
                Map<String, Object> specials = Json.object(p.get("special_tokens"), "TemplateProcessing special_tokens");
                boolean seenSequence = false;
                for (Object item : Json.array(p.get("single"), "TemplateProcessing single")) {
                    Map<String, Object> piece = Json.object(item, "TemplateProcessing piece");
                    if (piece.containsKey("Sequence")) {
                        if (seenSequence) {
                            throw new FormatError("TemplateProcessing single template has two sequences");
                        }
                        seenSequence = true;
                        continue;
                    }
                    String name = Json.string(Json.object(piece.get("SpecialToken"), "SpecialToken").get("id"), "SpecialToken id");
                    Map<String, Object> special = Json.object(specials.get(name), "special_tokens." + name);
                    for (Object id : Json.array(special.get("ids"), "special_tokens." + name + ".ids")) {
                        (seenSequence ? tail : head).add((int) Json.integer(id, "special token id"));
                    }
                }
                return;
            }
            case "BertProcessing":
            case "RobertaProcessing": {
                head.add((int) Json.integer(Json.array(p.get("cls"), type + " cls").get(1), type + " cls id"));
                tail.add((int) Json.integer(Json.array(p.get("sep"), type + " sep").get(1), type + " sep id"));
                return;
            }
            case "ByteLevel":
                return; // offsets only; ids unchanged
            case "Sequence":
                for (Object item : Json.array(p.get("processors"), "Sequence processors")) {
                    List<Integer> h = new ArrayList<>();
                    List<Integer> t = new ArrayList<>();
                    readPostProcessor(item, h, t);
                    head.addAll(0, h);
                    tail.addAll(t);
                }
                return;
            default:
                throw new FormatError("tokenizer.json post_processor type '" + type + "' is not supported by the Java "
                        + "tokenizer (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)");
        }
    }

    private static int[] toArray(List<Integer> values) {
        int[] out = new int[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tokenizer(specials " + Arrays.toString(before) + " + content + " + Arrays.toString(after) + ")";
    }
}
