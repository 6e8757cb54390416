/* profile_types.c - HL7 v2 data types for the profile checker: the names a
 * rule file may use and which of them have a value check (the checks
 * themselves are inline in profile_values.h, on the hot path), plus HL7
 * version numbers.
 */
#include <stddef.h>
#include <string.h>

#include "profile_internal.h"

/* Every data type name of HL7 v2.1-v2.8 a rule may use. The ones with a
 * check are validated; the others (composites, strings, coded) are checked
 * for presence, length, repetitions and, when a rule names one, a table. */
static const struct {
    const char *name;
    enum pf_check check;
} types[] = {
    {"AD", PF_CK_NONE},   {"AUI", PF_CK_NONE}, {"CCD", PF_CK_NONE}, {"CCP", PF_CK_NONE},
    {"CD", PF_CK_NONE},   {"CE", PF_CK_NONE},  {"CF", PF_CK_NONE},  {"CK", PF_CK_NONE},
    {"CM", PF_CK_NONE},   {"CN", PF_CK_NONE},  {"CNE", PF_CK_NONE}, {"CNN", PF_CK_NONE},
    {"CP", PF_CK_NONE},   {"CQ", PF_CK_NONE},  {"CSU", PF_CK_NONE}, {"CWE", PF_CK_NONE},
    {"CX", PF_CK_NONE},   {"DDI", PF_CK_NONE}, {"DIN", PF_CK_NONE}, {"DLD", PF_CK_NONE},
    {"DLN", PF_CK_NONE},  {"DLT", PF_CK_NONE}, {"DR", PF_CK_NONE},  {"DT", PF_CK_DT},
    {"DTM", PF_CK_DTM},   {"DTN", PF_CK_NONE}, {"ED", PF_CK_NONE},  {"EI", PF_CK_NONE},
    {"EIP", PF_CK_NONE},  {"ELD", PF_CK_NONE}, {"ERL", PF_CK_NONE}, {"FC", PF_CK_NONE},
    {"FN", PF_CK_NONE},   {"FT", PF_CK_NONE},  {"GTS", PF_CK_NONE}, {"HD", PF_CK_NONE},
    {"ICD", PF_CK_NONE},  {"ID", PF_CK_NONE},  {"IS", PF_CK_NONE},  {"JCC", PF_CK_NONE},
    {"LA1", PF_CK_NONE},  {"LA2", PF_CK_NONE}, {"MA", PF_CK_NONE},  {"MO", PF_CK_NONE},
    {"MOC", PF_CK_NONE},  {"MOP", PF_CK_NONE}, {"MSG", PF_CK_NONE}, {"NA", PF_CK_NONE},
    {"NDL", PF_CK_NONE},  {"NM", PF_CK_NM},    {"NR", PF_CK_NONE},  {"OCD", PF_CK_NONE},
    {"OSD", PF_CK_NONE},  {"OSP", PF_CK_NONE}, {"PIP", PF_CK_NONE}, {"PL", PF_CK_NONE},
    {"PLN", PF_CK_NONE},  {"PN", PF_CK_NONE},  {"PPN", PF_CK_NONE}, {"PRL", PF_CK_NONE},
    {"PT", PF_CK_NONE},   {"PTA", PF_CK_NONE}, {"QIP", PF_CK_NONE}, {"QSC", PF_CK_NONE},
    {"RCD", PF_CK_NONE},  {"RFR", PF_CK_NONE}, {"RI", PF_CK_NONE},  {"RMC", PF_CK_NONE},
    {"RP", PF_CK_NONE},   {"RPT", PF_CK_NONE}, {"SAD", PF_CK_NONE}, {"SCV", PF_CK_NONE},
    {"SI", PF_CK_SI},     {"SN", PF_CK_NONE},  {"SPD", PF_CK_NONE}, {"SPS", PF_CK_NONE},
    {"SRT", PF_CK_NONE},  {"ST", PF_CK_NONE},  {"TM", PF_CK_TM},    {"TN", PF_CK_NONE},
    {"TQ", PF_CK_NONE},   {"TS", PF_CK_TS},    {"TX", PF_CK_NONE},  {"UVC", PF_CK_NONE},
    {"VARIES", PF_CK_VARIES}, {"VH", PF_CK_NONE}, {"VID", PF_CK_NONE}, {"VR", PF_CK_NONE},
    {"WVI", PF_CK_NONE},  {"WVS", PF_CK_NONE}, {"XAD", PF_CK_NONE}, {"XCN", PF_CK_NONE},
    {"XON", PF_CK_NONE},  {"XPN", PF_CK_NONE}, {"XTN", PF_CK_NONE},
};

#define NTYPES (sizeof types / sizeof types[0])

int pf_type_find(const char *name, size_t n) {
    for (size_t i = 0; i < NTYPES; i++)
        if (strlen(types[i].name) == n && memcmp(types[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

const char *pf_type_name(int type) {
    return type >= 0 && (size_t)type < NTYPES ? types[type].name : "?";
}

enum pf_check pf_type_check(int type) {
    return type >= 0 && (size_t)type < NTYPES ? types[type].check : PF_CK_NONE;
}

const char *pf_check_name(enum pf_check ck) {
    switch (ck) {
    case PF_CK_TS:
    case PF_CK_DTM:
        return "DTM";
    case PF_CK_DT:
        return "DT";
    case PF_CK_TM:
        return "TM";
    case PF_CK_NM:
        return "NM";
    case PF_CK_SI:
        return "SI";
    case PF_CK_NONE:
    case PF_CK_VARIES:
        break;
    }
    return "value";
}

/* ----------------------------------------------------------- versions */

static int digit(char c) {
    return c >= '0' && c <= '9';
}

unsigned pf_version_parse(const char *p, size_t n) {
    /* 2.x or 2.x.y, one digit each: every published v2 version */
    if (n != 3 && n != 5)
        return 0;
    if (p[0] != '2' || p[1] != '.' || !digit(p[2]) || p[2] == '0')
        return 0;
    unsigned v = 200 + (unsigned)(p[2] - '0') * 10;
    if (n == 5) {
        if (p[3] != '.' || !digit(p[4]))
            return 0;
        v += (unsigned)(p[4] - '0');
    }
    return v;
}
