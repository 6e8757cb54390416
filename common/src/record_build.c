/* record_build.c - hf_rec_build: one pass over a parsed message that splits
 * every segment into its wire fields (the lossless segments[] copy) and
 * hands each segment to the builder of its typed block.
 *
 * Grouping rules (docs/topics.md): an ORC starts an order and the OBR right
 * after it joins that order; any other OBR starts its own order. An OBX
 * belongs to the last OBR before it, an NTE follows the last segment before
 * it that is not an NTE. The first EVN, PID, PV1 (+PV2), TXA and MRG fill
 * the single blocks; later ones stay in segments[] only.
 */
#include "hl7_internal.h"
#include "record_internal.h"

static const hf_span EMPTY = {"", 0};

static uint32_t pack(hf_span id) {
    return (uint32_t)(unsigned char)id.p[0] << 16 | (uint32_t)(unsigned char)id.p[1] << 8 |
           (uint32_t)(unsigned char)id.p[2];
}

#define ID(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))

enum {
    MSH = ID('M', 'S', 'H'), EVN = ID('E', 'V', 'N'), PID = ID('P', 'I', 'D'),
    PV1 = ID('P', 'V', '1'), PV2 = ID('P', 'V', '2'), ORC = ID('O', 'R', 'C'),
    OBR = ID('O', 'B', 'R'), OBX = ID('O', 'B', 'X'), NTE = ID('N', 'T', 'E'),
    DG1 = ID('D', 'G', '1'), AL1 = ID('A', 'L', '1'), IN1 = ID('I', 'N', '1'),
    NK1 = ID('N', 'K', '1'), FT1 = ID('F', 'T', '1'), TXA = ID('T', 'X', 'A'),
    MRG = ID('M', 'R', 'G')
};

/* Whether [p, end) holds the escape character @p esc (0: never) and
 * whether it holds a byte >= 0x80, in one pass, 16 bytes a step with SSE2
 * (never reading past end). */
static void scan_text(const char *p, const char *end, char esc, bool *has_esc, bool *has_high) {
    bool e = false, h = false;
#ifdef __SSE2__
    const char *begin = p;
    const __m128i ve = _mm_set1_epi8(esc);
    __m128i acc_e = _mm_setzero_si128(), acc_h = _mm_setzero_si128();
    for (; end - p >= 64; p += 64) { /* 4 blocks a step: less loop per byte */
        __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
        __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
        acc_e = _mm_or_si128(acc_e, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x0, ve),
                                                              _mm_cmpeq_epi8(x1, ve)),
                                                 _mm_or_si128(_mm_cmpeq_epi8(x2, ve),
                                                              _mm_cmpeq_epi8(x3, ve))));
        acc_h = _mm_or_si128(acc_h, _mm_or_si128(_mm_or_si128(x0, x1), _mm_or_si128(x2, x3)));
    }
    for (; end - p >= 16; p += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        acc_e = _mm_or_si128(acc_e, _mm_cmpeq_epi8(x, ve));
        acc_h = _mm_or_si128(acc_h, x);
    }
    if (p < end && end - begin >= 16) { /* the last 16 bytes again: no byte loop */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));
        acc_e = _mm_or_si128(acc_e, _mm_cmpeq_epi8(x, ve));
        acc_h = _mm_or_si128(acc_h, x);
        p = end;
    }
    e = esc != 0 && _mm_movemask_epi8(acc_e) != 0;
    h = _mm_movemask_epi8(acc_h) != 0;
#endif
    for (; p < end; p++) {
        e |= esc != 0 && *p == esc;
        h |= (unsigned char)*p >= 0x80;
    }
    *has_esc = e;
    *has_high = h;
}

/* The fields of segment @p si (item i = SEG-(i+1), wire form) from the
 * parse index (hf_hl7_seg_fields), straight into the arena. */
static void split_segment(hf_rec_ctx *ctx, const hf_hl7_msg *msg, size_t si,
                          hf_hl7_seg_head h, hf_rec_segment *seg) {
    hf_span raw = h.raw;
    seg->id = (hf_span){raw.p, 3};
    seg->occurrence = (int32_t)h.occurrence;
    seg->fields.v = NULL;
    seg->fields.n = 0;
    seg->wire = (hf_span){"", 0};
    if (raw.len <= 3)
        return;
    size_t n = h.nfields;
    hf_span *v = hf_rec_arena_alloc(&ctx->arena, n * sizeof *v);
    if (v == NULL) {
        ctx->oom = true;
        return;
    }
    seg->fields.v = v;
    seg->fields.n = hf_hl7_seg_fields(msg, si, v, n);
    seg->wire = (hf_span){raw.p + 4, raw.len - 4};
}

/* Per segment: does its text (after the ID and, for MSH, after MSH-2,
 * which holds the escape character itself) contain the escape character;
 * and does the message hold any byte >= 0x80. One pass over the message;
 * a second, per segment, only when an escape occurs at all. */
static bool mark_escapes(hf_rec_ctx *ctx, const hf_rec *rec) {
    const hf_rec_segment *msh = &rec->segments.v[0];
    const hf_rec_segment *last = &rec->segments.v[rec->segments.n - 1];
    const char *from = msh->fields.n >= 2 ? msh->fields.v[1].p + msh->fields.v[1].len
                                          : msh->id.p + msh->id.len;
    const char *to = last->wire.len > 0 ? last->wire.p + last->wire.len : last->id.p + 3;
    bool esc, high, head_high, unused;
    scan_text(from, to, ctx->d.escape, &esc, &high);
    scan_text(msh->id.p, from, 0, &unused, &head_high); /* MSH-2 may be high */
    if (esc)
        for (size_t si = 0; si < rec->segments.n; si++) {
            const hf_rec_segment *s = &rec->segments.v[si];
            const char *a = si == 0 ? from : s->wire.p, *z = s->wire.p + s->wire.len;
            ctx->seg_esc[si] =
                s->wire.len > 0 && a < z && hf_rt_find(a, z, ctx->d.escape) != NULL;
        }
    return high || head_high;
}

static void build_header(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_header *h) {
    char cs = ctx->d.component;
    h->sending_application = hf_rt_hd(ctx, hf_rt_f(s, 3), cs);
    h->sending_facility = hf_rt_hd(ctx, hf_rt_f(s, 4), cs);
    h->receiving_application = hf_rt_hd(ctx, hf_rt_f(s, 5), cs);
    h->receiving_facility = hf_rt_hd(ctx, hf_rt_f(s, 6), cs);
    hf_rt_dtm(ctx, hf_rt_f(s, 7), &h->message_datetime, &h->message_ts);
    hf_span t[3];
    hf_rt_split(hf_rt_rep1(ctx, hf_rt_f(s, 9)), cs, t, 3);
    h->message_code = hf_rt_text(ctx, t[0]);
    h->trigger_event = hf_rt_text(ctx, t[1]);
    h->message_structure = hf_rt_text(ctx, t[2]);
    h->control_id = hf_rt_leaf(ctx, hf_rt_f(s, 10));
    h->processing_id = hf_rt_leaf(ctx, hf_rt_f(s, 11));
    h->version_id = hf_rt_leaf(ctx, hf_rt_f(s, 12));
    h->sequence_number = hf_rt_leaf(ctx, hf_rt_f(s, 13));
    h->accept_ack_type = hf_rt_leaf(ctx, hf_rt_f(s, 15));
    h->application_ack_type = hf_rt_leaf(ctx, hf_rt_f(s, 16));
    h->country_code = hf_rt_leaf(ctx, hf_rt_f(s, 17));
    h->character_set = hf_rt_leaf(ctx, hf_rt_f(s, 18));
}

static const struct {
    unsigned bit;
    const char *name;
} QUIRKS[] = {
    {HF_HL7_Q_MLLP, "mllp_framing"},          {HF_HL7_Q_BOM, "byte_order_mark"},
    {HF_HL7_Q_LF, "lf_terminators"},          {HF_HL7_Q_BLANK_LINES, "blank_lines"},
    {HF_HL7_Q_NO_FINAL_TERM, "no_final_terminator"}, {HF_HL7_Q_MSH2_NO_ESCAPE, "msh2_no_escape"},
};
#define NQUIRKS (sizeof QUIRKS / sizeof QUIRKS[0])

static void build_quirks(hf_rec_ctx *ctx, unsigned bits, hf_rec *rec) {
    if (bits == 0)
        return;
    hf_span *v = hf_rec_arena_alloc(&ctx->arena, NQUIRKS * sizeof *v);
    if (v == NULL) {
        ctx->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < NQUIRKS; i++)
        if (bits & QUIRKS[i].bit)
            v[n++] = (hf_span){QUIRKS[i].name, strlen(QUIRKS[i].name)};
    rec->parse_quirks.v = v;
    rec->parse_quirks.n = n;
}

/* Arrays sized from a first count of the segment IDs. */
typedef struct counts {
    size_t orders, obs, notes, dx, al, in, nk, ft;
} counts;

static void count_ids(const hf_rec *rec, counts *c) {
    memset(c, 0, sizeof *c);
    for (size_t s = 0; s < rec->segments.n; s++) {
        switch (pack(rec->segments.v[s].id)) {
        case ORC: case OBR: c->orders++; break;
        case OBX: c->obs++; break;
        case NTE: c->notes++; break;
        case DG1: c->dx++; break;
        case AL1: c->al++; break;
        case IN1: c->in++; break;
        case NK1: c->nk++; break;
        case FT1: c->ft++; break;
        default: break;
        }
    }
}

static void *arr(hf_rec_ctx *ctx, size_t n, size_t size) {
    if (n == 0)
        return NULL;
    void *p = hf_rec_arena_zalloc(&ctx->arena, n * size);
    if (p == NULL)
        ctx->oom = true;
    return p;
}

static void *one(hf_rec_ctx *ctx, size_t size) {
    void *p = hf_rec_arena_zalloc(&ctx->arena, size);
    if (p == NULL)
        ctx->oom = true;
    return p;
}

/* The document text: OBX values of text types after the TXA. */
static void build_document_text(hf_rec_ctx *ctx, hf_rec *rec, size_t txa_seg) {
    size_t n = 0;
    hf_span *items = hf_rec_arena_alloc(&ctx->arena, (rec->observations.n + 1) * sizeof *items);
    if (items == NULL) {
        ctx->oom = true;
        return;
    }
    for (size_t i = 0; i < rec->observations.n; i++) {
        const hf_rec_obs *o = &rec->observations.v[i];
        hf_span t = o->value_type;
        bool text = t.len == 0 || (t.len == 2 && (memcmp(t.p, "TX", 2) == 0 ||
                                                  memcmp(t.p, "FT", 2) == 0 ||
                                                  memcmp(t.p, "ST", 2) == 0));
        if (ctx->obs_seg[i] > txa_seg && text)
            items[n++] = o->value;
    }
    rec->document->text = hf_rt_join_lines(ctx, items, n);
}

static void build_segments(hf_rec_ctx *ctx, hf_rec *rec) {
    size_t nseg = rec->segments.n;
    counts c;
    count_ids(rec, &c);
    rec->orders.v = arr(ctx, c.orders, sizeof(hf_rec_order));
    rec->observations.v = arr(ctx, c.obs, sizeof(hf_rec_obs));
    rec->notes.v = arr(ctx, c.notes, sizeof(hf_rec_note));
    rec->diagnoses.v = arr(ctx, c.dx, sizeof(hf_rec_dx));
    rec->allergies.v = arr(ctx, c.al, sizeof(hf_rec_allergy));
    rec->insurance.v = arr(ctx, c.in, sizeof(hf_rec_insurance));
    rec->next_of_kin.v = arr(ctx, c.nk, sizeof(hf_rec_nok));
    rec->financial_transactions.v = arr(ctx, c.ft, sizeof(hf_rec_ft));
    ctx->obs_seg = arr(ctx, c.obs, sizeof(uint32_t));
    if (ctx->oom)
        return;

    hf_rec_order *order = NULL; /* the order an OBR may still join */
    hf_opt_i32 last_obr = {0, false};
    hf_span follows = rec->segments.v[0].id; /* MSH */
    int32_t follows_occ = 1;
    size_t txa_seg = 0;
    for (size_t si = 1; si < nseg; si++) {
        const hf_rec_segment *s = &rec->segments.v[si];
        ctx->esc = ctx->seg_esc[si];
        ctx->plain = !ctx->esc && ctx->text_mode == HF_TXT_ASIS;
        uint32_t id = pack(s->id);
        switch (id) {
        case EVN:
            if (rec->event == NULL && (rec->event = one(ctx, sizeof *rec->event)) != NULL)
                hf_rb_event(ctx, s, rec->event);
            break;
        case PID:
            if (rec->patient == NULL && (rec->patient = one(ctx, sizeof *rec->patient)) != NULL)
                hf_rb_patient(ctx, s, rec->patient);
            break;
        case PV1:
            if (rec->visit == NULL && (rec->visit = one(ctx, sizeof *rec->visit)) != NULL)
                hf_rb_visit(ctx, s, rec->visit);
            break;
        case PV2:
            if (rec->visit != NULL && rec->visit->admit_reason == NULL)
                hf_rb_pv2(ctx, s, rec->visit);
            break;
        case ORC:
            order = &rec->orders.v[rec->orders.n++];
            order->orc_occurrence = (hf_opt_i32){s->occurrence, true};
            hf_rb_orc(ctx, s, order);
            break;
        case OBR:
            if (order == NULL || order->obr_occurrence.set)
                order = &rec->orders.v[rec->orders.n++];
            order->obr_occurrence = (hf_opt_i32){s->occurrence, true};
            last_obr = order->obr_occurrence;
            hf_rb_obr(ctx, s, order);
            break;
        case OBX: {
            size_t i = rec->observations.n++;
            hf_rec_obs *o = &rec->observations.v[i];
            ctx->obs_seg[i] = (uint32_t)si;
            o->segment_occurrence = s->occurrence;
            o->obr_occurrence = last_obr;
            hf_rb_obs(ctx, s, o);
            break;
        }
        case NTE: {
            hf_rec_note *n = &rec->notes.v[rec->notes.n++];
            n->segment_occurrence = s->occurrence;
            n->follows_segment = follows;
            n->follows_occurrence = (hf_opt_i32){follows_occ, follows.len > 0};
            hf_rb_note(ctx, s, n);
            break;
        }
        case DG1: {
            hf_rec_dx *x = &rec->diagnoses.v[rec->diagnoses.n++];
            x->segment_occurrence = s->occurrence;
            hf_rb_dx(ctx, s, x);
            break;
        }
        case AL1: {
            hf_rec_allergy *x = &rec->allergies.v[rec->allergies.n++];
            x->segment_occurrence = s->occurrence;
            hf_rb_allergy(ctx, s, x);
            break;
        }
        case IN1: {
            hf_rec_insurance *x = &rec->insurance.v[rec->insurance.n++];
            x->segment_occurrence = s->occurrence;
            hf_rb_insurance(ctx, s, x);
            break;
        }
        case NK1: {
            hf_rec_nok *x = &rec->next_of_kin.v[rec->next_of_kin.n++];
            x->segment_occurrence = s->occurrence;
            hf_rb_nok(ctx, s, x);
            break;
        }
        case FT1: {
            hf_rec_ft *x = &rec->financial_transactions.v[rec->financial_transactions.n++];
            x->segment_occurrence = s->occurrence;
            hf_rb_ft(ctx, s, x);
            break;
        }
        case TXA:
            if (rec->document == NULL &&
                (rec->document = one(ctx, sizeof *rec->document)) != NULL) {
                txa_seg = si;
                hf_rb_document(ctx, s, rec->document);
            }
            break;
        case MRG:
            if (rec->merge == NULL && (rec->merge = one(ctx, sizeof *rec->merge)) != NULL)
                hf_rb_merge(ctx, s, rec->merge);
            break;
        default:
            break;
        }
        if (id != NTE) {
            follows = s->id;
            follows_occ = s->occurrence;
        }
        if (ctx->oom)
            return;
    }
    /* empty arrays are written as [] whatever the pointer; keep NULL tidy */
    if (rec->document != NULL)
        build_document_text(ctx, rec, txa_seg);
}

/* One step of "is the message its segments joined by single CRs, byte for
 * byte" (then segments[] rebuild it exactly, hf_rec_message_bytes, and raw
 * is left null instead of carrying the message a second time): segment
 * @p s starts at *at and is followed by a CR, or by the message's @p end
 * when it is the @p last. Moves *at past the CR. */
static bool joins_exactly(hf_span s, bool last, const char *end, const char **at) {
    if (s.p != *at || s.len < 3)
        return false;
    const char *z = s.p + s.len;
    *at = z + 1;
    return last ? z == end : z < end && *z == '\r';
}

hf_status hf_rec_build(hf_rec_ctx *ctx, const hf_hl7_msg *msg, const hf_rec_meta *meta,
                       hf_rec **out, hf_err *err) {
    hf_rec *rec = &ctx->rec;
    *out = NULL;
    hf_rec_arena_reset(&ctx->arena);
    memset(rec, 0, sizeof *rec);
    ctx->oom = false;
    ctx->converted_latin1 = ctx->converted_repair = false;
    ctx->obs_seg = NULL;
    ctx->d = hf_hl7_msg_delims(msg);
    ctx->esc = ctx->plain = false;

    size_t nseg = hf_hl7_seg_count(msg);
    if (nseg == 0)
        return hf_err_set(err, HF_ESYNTAX, "record: the message has no segments");
    if (nseg > INT32_MAX)
        return hf_err_set(err, HF_ELIMIT, "record: too many segments");
    static const hf_rec_meta none = {{"", 0}, {"", 0}, 0};
    if (meta == NULL)
        meta = &none;
    rec->raw = hf_hl7_msg_raw(msg);
    ctx->mlo = rec->raw.p;
    ctx->mend = rec->raw.p + rec->raw.len;
    rec->ingest_ts = meta->ingest_ts;

    /* 1. wire fields of every segment */
    rec->segments.v = arr(ctx, nseg, sizeof(hf_rec_segment));
    if (rec->segments.v == NULL)
        return hf_err_set(err, HF_ENOMEM, "record: out of memory");
    rec->segments.n = nseg;
    ctx->seg_esc = arr(ctx, nseg, sizeof *ctx->seg_esc);
    if (ctx->seg_esc == NULL)
        return hf_err_set(err, HF_ENOMEM, "record: out of memory");
    const char *at = rec->raw.p, *mend = rec->raw.p + rec->raw.len;
    bool exact = true;
    for (size_t si = 0; si < nseg; si++) {
        hf_hl7_seg_head h = hf_hl7_seg_head_get(msg, si);
        split_segment(ctx, msg, si, h, &rec->segments.v[si]);
        exact = exact && joins_exactly(h.raw, si + 1 == nseg, mend, &at);
    }
    if (ctx->oom)
        return hf_err_set(err, HF_ENOMEM, "record: out of memory");
    bool high = mark_escapes(ctx, rec);

    /* 2. how the bytes become UTF-8 (needs MSH-18) */
    const hf_rec_segment *msh = &rec->segments.v[0];
    hf_span cs = hf_rt_first(hf_rt_rep1(ctx, hf_rt_f(msh, 18)), ctx->d.component);
    if (!high)
        ctx->text_mode = HF_TXT_ASIS; /* plain ASCII: nothing to check */
    else
        hf_rt_choose_mode(ctx, rec->raw, cs);

    /* 3. typed blocks */
    ctx->esc = ctx->seg_esc[0];
    ctx->plain = !ctx->esc && ctx->text_mode == HF_TXT_ASIS;
    build_header(ctx, msh, &rec->header);
    build_segments(ctx, rec);
    if (ctx->oom)
        return hf_err_set(err, HF_ENOMEM, "record: out of memory");

    /* 4. source and facility: the caller's, else MSH-3.1 / MSH-4.1 */
    rec->source_system = meta->source_system.len > 0 ? hf_rt_utf8(ctx, meta->source_system)
                         : rec->header.sending_application != NULL
                             ? rec->header.sending_application->namespace_id
                             : EMPTY;
    rec->facility_id = meta->facility_id.len > 0 ? hf_rt_utf8(ctx, meta->facility_id)
                       : rec->header.sending_facility != NULL
                           ? rec->header.sending_facility->namespace_id
                           : EMPTY;

    /* 5. the lossless copy must be UTF-8 too */
    if (ctx->text_mode != HF_TXT_ASIS)
        for (size_t si = 0; si < nseg; si++) {
            hf_rec_segment *s = &rec->segments.v[si];
            for (size_t k = 0; k < s->fields.n; k++)
                s->fields.v[k] = hf_rt_raw(ctx, s->fields.v[k]);
        }
    build_quirks(ctx, hf_hl7_msg_quirks(msg), rec);
    if (ctx->oom)
        return hf_err_set(err, HF_ENOMEM, "record: out of memory");
    if (ctx->text_mode == HF_TXT_ASIS && exact)
        rec->raw = (hf_span){NULL, 0};
    if (ctx->converted_latin1)
        rec->header.text_conversion = (hf_span){"iso-8859-1", 10};
    else if (ctx->converted_repair)
        rec->header.text_conversion = (hf_span){"replacement", 11};
    *out = rec;
    return HF_OK;
}
