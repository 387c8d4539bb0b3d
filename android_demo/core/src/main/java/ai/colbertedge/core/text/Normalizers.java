package ai.colbertedge.core.text;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code normalizer} of a tokenizer.json, as the Rust {@code tokenizers} crate applies it.
 * Supported: null, BertNormalizer, Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Replace (string
 * pattern), Sequence. Anything else is a FormatError naming the type.
 */
public final class Normalizers {
    private Normalizers() {
    }

    /** One normalisation step: text in, text out. */
    public interface Step {
        String apply(String text);
    }

    /** The identity, for a null normalizer. */
    public static final Step NONE = text -> text;

    /** Build the step described by {@code spec} (a JSON object or null). */
    public static Step fromJson(Object spec) {
        if (spec == null) {
            return NONE;
        }
        Map<String, Object> n = Json.object(spec, "tokenizer.json normalizer");
        String type = String.valueOf(n.get("type"));
        switch (type) {
            case "BertNormalizer":
                return bert(n);
            case "Lowercase":
                return Chars::lowercaseEachChar;
            case "StripAccents":
                return Normalizers::stripAccents;
            case "NFC":
                return text -> Normalizer.normalize(text, Normalizer.Form.NFC);
            case "NFD":
                return text -> Normalizer.normalize(text, Normalizer.Form.NFD);
            case "NFKC":
                return text -> Normalizer.normalize(text, Normalizer.Form.NFKC);
            case "NFKD":
                return text -> Normalizer.normalize(text, Normalizer.Form.NFKD);
            case "Replace": {
                Map<String, Object> pattern = Json.object(n.get("pattern"), "Replace normalizer pattern");
                if (!pattern.containsKey("String")) {
                    throw new FormatError("tokenizer.json: Replace normalizer with a Regex pattern is not supported");
                }
                String from = Json.string(pattern.get("String"), "Replace pattern");
                String to = Json.string(n.get("content"), "Replace content");
                return text -> text.replace(from, to);
            }
            case "Sequence": {
                List<Step> steps = new ArrayList<>();
                for (Object item : Json.array(n.get("normalizers"), "Sequence normalizers")) {
                    steps.add(fromJson(item));
                }
                return text -> {
                    for (Step step : steps) {
                        text = step.apply(text);
                    }
                    return text;
                };
            }
            default:
                throw new FormatError("tokenizer.json normalizer type '" + type + "' is not supported by the Java "
                        + "tokenizer (supported: BertNormalizer, Lowercase, StripAccents, NFC/NFD/NFKC/NFKD, Replace, Sequence)");
        }
    }

    private static Step bert(Map<String, Object> n) {
        boolean cleanText = !Boolean.FALSE.equals(n.get("clean_text"));
        boolean chinese = !Boolean.FALSE.equals(n.get("handle_chinese_chars"));
        boolean lowercase = !Boolean.FALSE.equals(n.get("lowercase"));
        Object accents = n.get("strip_accents");
        boolean stripAccents = accents == null ? lowercase : Boolean.TRUE.equals(accents);
        return text -> {
            StringBuilder out = new StringBuilder(text.length() + 8);
            for (int i = 0; i < text.length(); ) {
                int c = text.codePointAt(i);
                i += Character.charCount(c);
                if (cleanText) {
                    if (c == 0 || c == 0xFFFD || (c != '\t' && c != '\n' && c != '\r' && Chars.isOther(c))) {
                        continue;
                    }
                    if (c == '\t' || c == '\n' || c == '\r' || Chars.isWhiteSpace(c)) {
                        c = ' ';
                    }
                }
                if (chinese && Chars.isChineseChar(c)) {
                    out.append(' ').appendCodePoint(c).append(' ');
                } else {
                    out.appendCodePoint(c);
                }
            }
            String result = out.toString();
            if (stripAccents) {
                result = stripNonSpacingMarks(result);
            }
            return lowercase ? Chars.lowercaseEachChar(result) : result;
        };
    }

    /** NFD, then drop nonspacing marks (Mn) only: what BertNormalizer's strip_accents does. */
    static String stripNonSpacingMarks(String text) {
        String nfd = Normalizer.normalize(text, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(nfd.length());
        for (int i = 0; i < nfd.length(); ) {
            int c = nfd.codePointAt(i);
            i += Character.charCount(c);
            if (Character.getType(c) != Character.NON_SPACING_MARK) {
                out.appendCodePoint(c);
            }
        }
        return out.toString();
    }

    /** Drop every combining mark, Mn, Mc and Me (the StripAccents normalizer; no NFD of its own). */
    static String stripAccents(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (!Chars.isMark(c)) {
                out.appendCodePoint(c);
            }
        }
        return out.toString();
    }
}
