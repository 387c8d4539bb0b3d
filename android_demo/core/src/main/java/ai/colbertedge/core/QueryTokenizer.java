package ai.colbertedge.core;

import ai.colbertedge.core.text.Chars;
import ai.colbertedge.core.text.Tokenizer;

import java.io.File;
import java.io.IOException;
import java.util.Locale;

/**
 * The query side of the tokenization contract (runtime/tokenization.py, shared/DESIGN.md):
 *
 * <pre>
 * lone surrogates -> U+FFFD -> strip (Python's whitespace set) -> lower-case if the contract says so
 * -> tokenize with the model's special tokens, truncated to query_length - 1 (query_length without a
 * prefix) -> right-pad to that length with the expansion token (attention 0; only with query
 * expansion) -> insert the query-prefix id at prefix_position (attention 1) -> attention 1 everywhere
 * if attend_to_expansion_tokens.
 * </pre>
 *
 * With query expansion every position's vector is kept (query_length of them); without, the attended ones.
 */
public final class QueryTokenizer {
    private final Tokenizer tokenizer;
    private final TokenContract contract;

    /** Token ids and masks of one query: every array has the same length. */
    public static final class Tokens {
        public final long[] inputIds;
        public final long[] attentionMask;
        /** Positions whose vectors make up the query (all of them with query expansion). */
        public final boolean[] keep;

        Tokens(long[] inputIds, long[] attentionMask, boolean[] keep) {
            this.inputIds = inputIds;
            this.attentionMask = attentionMask;
            this.keep = keep;
        }
    }

    public QueryTokenizer(Tokenizer tokenizer, TokenContract contract) {
        this.tokenizer = tokenizer;
        this.contract = contract;
    }

    /** The bundle's tokenizer.json under the manifest's contract. */
    public static QueryTokenizer load(File bundle, Manifest manifest) throws IOException {
        String json = Manifest.readText(new File(bundle, Manifest.TOKENIZER_FILE));
        return new QueryTokenizer(Tokenizer.fromJson(json), manifest.contract);
    }

    private int budget() {
        return contract.queryPrefixId != null ? contract.queryLength - 1 : contract.queryLength;
    }

    /** Input ids, attention mask and kept positions of {@code text} as a query. */
    public Tokens encode(String text) {
        if (text == null) {
            throw new IllegalArgumentException("query text is null; pass a string (it may be empty)");
        }
        String cleaned = Chars.pythonStrip(Chars.replaceLoneSurrogates(text));
        if (contract.lowercase) {
            cleaned = cleaned.toLowerCase(Locale.ROOT);
        }
        int[] ids = tokenizer.encode(cleaned, budget());
        int width = contract.doQueryExpansion ? budget() : ids.length;
        boolean prefix = contract.queryPrefixId != null;
        int at = Math.min(contract.prefixPosition, width);
        int n = width + (prefix ? 1 : 0);
        long[] inputIds = new long[n];
        long[] mask = new long[n];
        for (int src = 0, dst = 0; dst < n; dst++) {
            if (prefix && dst == at) {
                inputIds[dst] = contract.queryPrefixId;
                mask[dst] = 1;
                continue;
            }
            boolean real = src < ids.length;
            inputIds[dst] = real ? ids[src] : contract.expansionTokenId;
            mask[dst] = real ? 1 : 0;
            src++;
        }
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) {
            keep[i] = contract.doQueryExpansion || mask[i] == 1;
            if (contract.attendToExpansionTokens) {
                mask[i] = 1;
            }
        }
        return new Tokens(inputIds, mask, keep);
    }
}
