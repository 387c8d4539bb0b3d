package ai.colbertedge.core;

import java.util.List;
import java.util.Map;

/**
 * How text becomes input ids for one model: the {@code contract} object of manifest.json
 * (runtime/manifest.py {@code TokenContract}). A null prefix id means the model uses no prefix;
 * then the length budget is not reduced by one.
 */
public final class TokenContract {
    public final Integer queryPrefixId;
    public final Integer documentPrefixId;
    public final int queryLength;
    public final int documentLength;
    public final boolean doQueryExpansion;
    public final int expansionTokenId;
    public final boolean attendToExpansionTokens;
    public final int[] skiplistIds;
    public final boolean lowercase;
    public final int prefixPosition;

    public TokenContract(Integer queryPrefixId, Integer documentPrefixId, int queryLength, int documentLength,
                         boolean doQueryExpansion, int expansionTokenId, boolean attendToExpansionTokens,
                         int[] skiplistIds, boolean lowercase, int prefixPosition) {
        this.queryPrefixId = queryPrefixId;
        this.documentPrefixId = documentPrefixId;
        this.queryLength = queryLength;
        this.documentLength = documentLength;
        this.doQueryExpansion = doQueryExpansion;
        this.expansionTokenId = expansionTokenId;
        this.attendToExpansionTokens = attendToExpansionTokens;
        this.skiplistIds = skiplistIds.clone();
        this.lowercase = lowercase;
        this.prefixPosition = prefixPosition;
    }

    /** Read the manifest's {@code contract} object; a missing required field is a FormatError. */
    public static TokenContract fromJson(Map<String, Object> c) {
        String where = "manifest contract field ";
        for (String key : new String[] {"query_length", "document_length", "do_query_expansion",
                "expansion_token_id", "attend_to_expansion_tokens", "lowercase"}) {
            if (!c.containsKey(key)) {
                throw new FormatError("manifest contract lacks '" + key + "'; re-export the bundle");
            }
        }
        List<Object> skip = c.containsKey("skiplist_ids")
                ? Json.array(c.get("skiplist_ids"), where + "skiplist_ids") : java.util.Collections.emptyList();
        int[] skiplist = new int[skip.size()];
        for (int i = 0; i < skiplist.length; i++) {
            skiplist[i] = (int) Json.integer(skip.get(i), where + "skiplist_ids[" + i + "]");
        }
        return new TokenContract(
                optionalId(c.get("query_prefix_id"), where + "query_prefix_id"),
                optionalId(c.get("document_prefix_id"), where + "document_prefix_id"),
                (int) Json.integer(c.get("query_length"), where + "query_length"),
                (int) Json.integer(c.get("document_length"), where + "document_length"),
                Json.bool(c.get("do_query_expansion"), where + "do_query_expansion"),
                (int) Json.integer(c.get("expansion_token_id"), where + "expansion_token_id"),
                Json.bool(c.get("attend_to_expansion_tokens"), where + "attend_to_expansion_tokens"),
                skiplist,
                Json.bool(c.get("lowercase"), where + "lowercase"),
                c.containsKey("prefix_position") ? (int) Json.integer(c.get("prefix_position"), where + "prefix_position") : 1);
    }

    private static Integer optionalId(Object value, String what) {
        return value == null ? null : (int) Json.integer(value, what);
    }
}
