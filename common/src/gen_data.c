/* gen_data.c - the generator's vocabulary tables (see gen_data.h).
 *
 * Names are common given and family names combined at random, so no entry
 * is a real person; places are generic town names with made-up zip
 * prefixes; phone numbers use the fictional 555-01xx range elsewhere. The
 * clinical codes (LOINC, ICD-10-CM, SNOMED CT, RxNorm, HL7 tables) are real
 * code values so downstream mapping looks like production, but every value
 * combination is synthetic.
 */
#include "gen_data.h"

#include <stddef.h>

#define GEN_COUNT(name) const uint32_t name##_n = sizeof name / sizeof name[0]

const char *const gen_male_first[] = {
    "James",   "John",    "Robert",  "Michael", "William", "David",   "Richard", "Joseph",
    "Thomas",  "Charles", "Daniel",  "Matthew", "Anthony", "Mark",    "Donald",  "Steven",
    "Paul",    "Andrew",  "Joshua",  "Kenneth", "Kevin",   "Brian",   "George",  "Timothy",
    "Ronald",  "Jason",   "Edward",  "Jeffrey", "Ryan",    "Jacob",   "Gary",    "Nicholas",
    "Eric",    "Jonathan", "Stephen", "Larry",  "Justin",  "Scott",   "Brandon", "Benjamin",
    "Samuel",  "Raymond", "Gregory", "Frank",   "Alexander", "Patrick", "Jack",  "Dennis",
    "Jerry",   "Tyler",   "Aaron",   "José",    "Luis",    "Carlos",  "Miguel",  "Wei",
    "Minh",    "Arjun",   "Omar",    "Kwame",   "Hiroshi", "Sean",    "Mateo",   "Liam",
};
GEN_COUNT(gen_male_first);

const char *const gen_female_first[] = {
    "Mary",    "Patricia", "Jennifer", "Linda",   "Elizabeth", "Barbara", "Susan",  "Jessica",
    "Sarah",   "Karen",   "Lisa",    "Nancy",   "Betty",   "Margaret", "Sandra",  "Ashley",
    "Kimberly", "Emily",  "Donna",   "Michelle", "Carol",  "Amanda",  "Dorothy", "Melissa",
    "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura",  "Cynthia", "Kathleen", "Amy",
    "Angela",  "Shirley", "Anna",    "Brenda",  "Pamela",  "Emma",    "Nicole",  "Helen",
    "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Janet",  "Maria",
    "Olivia",  "Sofia",   "Ava",     "Chloé",   "Zoë",     "Mei",     "Priya",   "Fatima",
    "Aisha",   "Yuki",    "Ngozi",   "Siobhan", "Lucía",   "Ingrid",  "Hannah",  "Grace",
};
GEN_COUNT(gen_female_first);

const char *const gen_last[] = {
    "Smith",     "Johnson",   "Williams",  "Brown",     "Jones",     "Garcia",    "Miller",
    "Davis",     "Rodriguez", "Martinez",  "Hernandez", "Lopez",     "Gonzalez",  "Wilson",
    "Anderson",  "Thomas",    "Taylor",    "Moore",     "Jackson",   "Martin",    "Lee",
    "Perez",     "Thompson",  "White",     "Harris",    "Sanchez",   "Clark",     "Ramirez",
    "Lewis",     "Robinson",  "Walker",    "Young",     "Allen",     "King",      "Wright",
    "Scott",     "Torres",    "Nguyen",    "Hill",      "Flores",    "Green",     "Adams",
    "Nelson",    "Baker",     "Hall",      "Rivera",    "Campbell",  "Mitchell",  "Carter",
    "Roberts",   "Gomez",     "Phillips",  "Evans",     "Turner",    "Diaz",      "Parker",
    "Cruz",      "Edwards",   "Collins",   "Reyes",     "Stewart",   "Morris",    "Morales",
    "Murphy",    "Cook",      "Rogers",    "Gutierrez", "Ortiz",     "Morgan",    "Cooper",
    "Peterson",  "Bailey",    "Reed",      "Kelly",     "Howard",    "Ramos",     "Kim",
    "Cox",       "Ward",      "Richardson", "Watson",   "Brooks",    "Chavez",    "Wood",
    "James",     "Bennett",   "Gray",      "Mendoza",   "Ruiz",      "Hughes",    "Price",
    "Alvarez",   "Castillo",  "Sanders",   "Patel",     "Myers",     "Long",      "Ross",
    "O'Brien",   "O'Connor",  "McDonald",  "Smith-Jones", "Garcia-Lopez", "Van der Berg",
    "Muñoz",     "Peña",      "Nuñez",     "Okafor",    "Chen",      "Wang",      "Tanaka",
    "Kowalski",  "Novak",     "Schmidt",   "Müller",    "Larsen",    "Haddad",    "Singh",
};
GEN_COUNT(gen_last);

const char *const gen_street[] = {
    "Oak",      "Maple",    "Cedar",    "Pine",     "Elm",      "Washington", "Lake",
    "Hill",     "Main",     "Park",     "Ridge",    "Sunset",   "Highland",   "Meadow",
    "Forest",   "River",    "Church",   "Mill",     "Spring",   "Willow",     "Cherry",
    "Walnut",   "Chestnut", "Jefferson", "Lincoln", "Madison",  "Franklin",   "Jackson",
    "Center",   "Union",    "Prospect", "Valley",   "Orchard",  "Birch",      "Aspen",
    "Harbor",   "Summit",   "Quarry",   "Lakeview", "Hawthorne", "Magnolia",  "Sycamore",
};
GEN_COUNT(gen_street);

const char *const gen_street_suffix[] = {"St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd", "Way", "Pl", "Ter"};
GEN_COUNT(gen_street_suffix);

const gen_city gen_cities[] = {
    {"Springfield", "IL", 627, 217}, {"Fairview", "OR", 970, 503},   {"Riverside", "CA", 925, 951},
    {"Franklin", "TN", 370, 615},    {"Greenville", "SC", 296, 864}, {"Clinton", "IA", 527, 563},
    {"Salem", "MA", 19, 978},        {"Madison", "WI", 537, 608},    {"Georgetown", "TX", 786, 512},
    {"Arlington", "VA", 222, 703},   {"Ashland", "OH", 448, 419},    {"Burlington", "VT", 54, 802},
    {"Dover", "DE", 199, 302},       {"Milton", "PA", 178, 570},     {"Oxford", "MS", 386, 662},
    {"Kingston", "NY", 124, 845},    {"Newport", "RI", 28, 401},     {"Marion", "IN", 469, 765},
    {"Jackson", "MI", 492, 517},     {"Lexington", "KY", 405, 859},  {"Auburn", "AL", 368, 334},
    {"Bristol", "CT", 60, 860},      {"Camden", "NJ", 81, 856},      {"Hudson", "NH", 30, 603},
    {"Lebanon", "MO", 654, 417},     {"Manchester", "NH", 31, 603},  {"Monroe", "LA", 712, 318},
    {"Plymouth", "MN", 554, 763},    {"Richmond", "IN", 473, 765},   {"Troy", "NY", 121, 518},
    {"Winchester", "VA", 226, 540},  {"Lakewood", "CO", 802, 303},   {"Bay City", "MI", 487, 989},
    {"Cedar Falls", "IA", 506, 319}, {"Eugene", "OR", 974, 541},     {"Tucson", "AZ", 857, 520},
};
GEN_COUNT(gen_cities);

const gen_coded gen_race[] = {
    {"2106-3", "White", "CDCREC"},
    {"2054-5", "Black or African American", "CDCREC"},
    {"2028-9", "Asian", "CDCREC"},
    {"1002-5", "American Indian or Alaska Native", "CDCREC"},
    {"2076-8", "Native Hawaiian or Other Pacific Islander", "CDCREC"},
    {"2131-1", "Other Race", "CDCREC"},
};
GEN_COUNT(gen_race);

const gen_coded gen_language[] = {
    {"eng", "English", "ISO639"}, {"eng", "English", "ISO639"}, {"eng", "English", "ISO639"},
    {"eng", "English", "ISO639"}, {"spa", "Spanish", "ISO639"}, {"vie", "Vietnamese", "ISO639"},
    {"zho", "Chinese", "ISO639"}, {"ara", "Arabic", "ISO639"},  {"fra", "French", "ISO639"},
};
GEN_COUNT(gen_language);

const gen_coded gen_relation[] = {
    {"SPO", "Spouse", "HL70063"},  {"CHD", "Child", "HL70063"},  {"PAR", "Parent", "HL70063"},
    {"SIB", "Sibling", "HL70063"}, {"FND", "Friend", "HL70063"}, {"GRD", "Guardian", "HL70063"},
};
GEN_COUNT(gen_relation);

const gen_coded gen_diagnosis[] = {
    {"I10", "Essential (primary) hypertension", "I10"},
    {"E11.9", "Type 2 diabetes mellitus without complications", "I10"},
    {"J18.9", "Pneumonia, unspecified organism", "I10"},
    {"N39.0", "Urinary tract infection, site not specified", "I10"},
    {"I50.9", "Heart failure, unspecified", "I10"},
    {"J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation", "I10"},
    {"R07.9", "Chest pain, unspecified", "I10"},
    {"A41.9", "Sepsis, unspecified organism", "I10"},
    {"E78.5", "Hyperlipidemia, unspecified", "I10"},
    {"F32.9", "Major depressive disorder, single episode, unspecified", "I10"},
    {"R50.9", "Fever, unspecified", "I10"},
    {"J06.9", "Acute upper respiratory infection, unspecified", "I10"},
    {"N17.9", "Acute kidney failure, unspecified", "I10"},
    {"I48.91", "Unspecified atrial fibrillation", "I10"},
    {"K21.9", "Gastro-esophageal reflux disease without esophagitis", "I10"},
    {"S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter", "I10"},
    {"K35.80", "Unspecified acute appendicitis", "I10"},
    {"Z00.00", "Encounter for general adult medical examination without abnormal findings", "I10"},
    {"O80", "Encounter for full-term uncomplicated delivery", "I10"},
    {"M54.50", "Low back pain, unspecified", "I10"},
};
GEN_COUNT(gen_diagnosis);

const gen_coded gen_qual_result[] = {
    {"260385009", "Negative", "SCT"}, {"260385009", "Negative", "SCT"}, {"260385009", "Negative", "SCT"},
    {"260385009", "Negative", "SCT"}, {"260405006", "Trace", "SCT"},    {"10828004", "Positive", "SCT"},
};
GEN_COUNT(gen_qual_result);

const gen_coded gen_organism[] = {
    {"264868006", "No growth", "SCT"},
    {"264868006", "No growth", "SCT"},
    {"112283007", "Escherichia coli", "SCT"},
    {"3092008", "Staphylococcus aureus", "SCT"},
    {"56415008", "Klebsiella pneumoniae", "SCT"},
    {"78065002", "Enterococcus faecalis", "SCT"},
};
GEN_COUNT(gen_organism);

const gen_coded gen_doc_kind[] = {
    {"DS", "Discharge summary", "18842-5"}, {"HP", "History and physical", "34117-2"},
    {"CN", "Consultation note", "11488-4"}, {"PR", "Progress note", "11506-3"},
    {"OP", "Operative report", "11504-8"},  {"TS", "Transfer summary", "18761-7"},
};
GEN_COUNT(gen_doc_kind);

const gen_allergen gen_allergens[] = {
    {"7980", "Penicillin G", "RXNORM", "DA"},    {"2670", "Codeine", "RXNORM", "DA"},
    {"1191", "Aspirin", "RXNORM", "DA"},          {"5640", "Ibuprofen", "RXNORM", "DA"},
    {"7052", "Morphine", "RXNORM", "DA"},         {"10180", "Sulfamethoxazole", "RXNORM", "DA"},
    {"111088007", "Latex", "SCT", "EA"},          {"256349002", "Peanut", "SCT", "FA"},
    {"102263004", "Eggs", "SCT", "FA"},           {"227037002", "Fish", "SCT", "FA"},
    {"288328004", "Bee venom", "SCT", "EA"},      {"256277009", "Grass pollen", "SCT", "EA"},
};
GEN_COUNT(gen_allergens);

const char *const gen_reaction[] = {"Hives", "Rash", "Anaphylaxis", "Nausea", "Swelling", "Shortness of breath",
                                    "Itching", "Vomiting"};
GEN_COUNT(gen_reaction);

const gen_insurer gen_insurers[] = {
    {"BRM100", "Blue River Mutual", "PPO", "100 Insurance Plaza", "Hartford^CT^06103"},
    {"ACM200", "Acme Health Plan", "HMO", "2200 Commerce Pkwy", "Columbus^OH^43215"},
    {"MCR001", "Medicare Part A", "MC", "7500 Security Blvd", "Baltimore^MD^21244"},
    {"MCD010", "State Medicaid Program", "MD", "1 Capitol Sq", "Springfield^IL^62701"},
    {"SUN300", "Sunrise Health HMO", "HMO", "45 Sunrise Way", "Phoenix^AZ^85004"},
    {"PIN400", "Pinnacle Choice PPO", "PPO", "900 Summit Ave", "Denver^CO^80202"},
    {"GRN500", "Greenleaf Mutual & Casualty", "COMM", "12 Harbor St", "Boston^MA^02110"},
};
GEN_COUNT(gen_insurers);

const gen_charge gen_charges[] = {
    {"99213", "Office visit, established patient, low complexity", 13500},
    {"99223", "Initial hospital care, high complexity", 41200},
    {"99232", "Subsequent hospital care, moderate complexity", 14800},
    {"85025", "Complete blood count with automated differential", 2700},
    {"80053", "Comprehensive metabolic panel", 3800},
    {"80061", "Lipid panel", 4200},
    {"36415", "Routine venipuncture", 1200},
    {"71046", "Chest X-ray, 2 views", 9600},
    {"93000", "Electrocardiogram, complete", 6500},
    {"74177", "CT abdomen & pelvis with contrast", 142000},
    {"J1100", "Dexamethasone sodium phosphate, 1 mg", 400},
    {"96374", "IV push, single or initial drug", 18000},
    {"97110", "Therapeutic exercise, each 15 minutes", 9000},
};
GEN_COUNT(gen_charges);

const gen_unit gen_units[] = {
    {"4W", "MED"}, {"5E", "SUR"}, {"ICU", "MED"}, {"TELE", "CAR"}, {"3N", "PUL"},
    {"6S", "URO"}, {"2E", "MED"}, {"L&D", "OBS"}, {"ED", "EME"},   {"7W", "ORT"},
};
GEN_COUNT(gen_units);

/* Index constants keep the panel table below readable. */
enum {
    T_WBC, T_RBC, T_HGB, T_HCT, T_MCV, T_MCH, T_MCHC, T_RDW, T_PLT, T_NEUT, T_LYMPH, T_MONO, T_EOS, T_BASO,
    T_GLU, T_BUN, T_CREA, T_NA, T_K, T_CL, T_CO2, T_CA, T_EGFR, T_PROT, T_ALB, T_BILI, T_ALP, T_ALT, T_AST,
    T_CHOL, T_TRIG, T_HDL, T_LDL, T_RATIO, T_TSH, T_FT4, T_A1C,
    T_UCOLOR, T_UAPP, T_USG, T_UPH, T_UPROT, T_UGLU, T_UKET, T_UBLD, T_ULEU, T_UNIT,
    T_BCX, T_UCX, T_GRAM, T_COMMENT
};

const gen_test gen_tests[] = {
    [T_WBC] = {"6690-2", "Leukocytes [#/volume] in Blood by Automated count", GEN_NM, 1, "10^3/uL", 45, 110},
    [T_RBC] = {"789-8", "Erythrocytes [#/volume] in Blood by Automated count", GEN_NM, 2, "10^6/uL", 420, 590},
    [T_HGB] = {"718-7", "Hemoglobin [Mass/volume] in Blood", GEN_NM, 1, "g/dL", 120, 175},
    [T_HCT] = {"4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", GEN_NM, 1, "%", 360, 500},
    [T_MCV] = {"787-2", "MCV [Entitic volume] by Automated count", GEN_NM, 1, "fL", 800, 1000},
    [T_MCH] = {"785-6", "MCH [Entitic mass] by Automated count", GEN_NM, 1, "pg", 270, 330},
    [T_MCHC] = {"786-4", "MCHC [Mass/volume] by Automated count", GEN_NM, 1, "g/dL", 320, 360},
    [T_RDW] = {"788-0", "Erythrocyte distribution width [Ratio] by Automated count", GEN_NM, 1, "%", 115, 145},
    [T_PLT] = {"777-3", "Platelets [#/volume] in Blood by Automated count", GEN_NM, 0, "10^3/uL", 150, 400},
    [T_NEUT] = {"770-8", "Neutrophils/100 leukocytes in Blood by Automated count", GEN_NM, 1, "%", 400, 750},
    [T_LYMPH] = {"736-9", "Lymphocytes/100 leukocytes in Blood by Automated count", GEN_NM, 1, "%", 200, 450},
    [T_MONO] = {"5905-5", "Monocytes/100 leukocytes in Blood by Automated count", GEN_NM, 1, "%", 20, 100},
    [T_EOS] = {"713-8", "Eosinophils/100 leukocytes in Blood by Automated count", GEN_NM, 1, "%", 0, 60},
    [T_BASO] = {"706-2", "Basophils/100 leukocytes in Blood by Automated count", GEN_NM, 1, "%", 0, 20},
    [T_GLU] = {"2345-7", "Glucose [Mass/volume] in Serum or Plasma", GEN_NM, 0, "mg/dL", 70, 99},
    [T_BUN] = {"3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", GEN_NM, 0, "mg/dL", 7, 20},
    [T_CREA] = {"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", GEN_NM, 2, "mg/dL", 60, 120},
    [T_NA] = {"2951-2", "Sodium [Moles/volume] in Serum or Plasma", GEN_NM, 0, "mmol/L", 136, 145},
    [T_K] = {"2823-3", "Potassium [Moles/volume] in Serum or Plasma", GEN_NM, 1, "mmol/L", 35, 51},
    [T_CL] = {"2075-0", "Chloride [Moles/volume] in Serum or Plasma", GEN_NM, 0, "mmol/L", 98, 107},
    [T_CO2] = {"2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", GEN_NM, 0, "mmol/L", 22, 29},
    [T_CA] = {"17861-6", "Calcium [Mass/volume] in Serum or Plasma", GEN_NM, 1, "mg/dL", 86, 103},
    [T_EGFR] = {"33914-3", "Glomerular filtration rate/1.73 sq M.predicted", GEN_NM, 0, "mL/min/{1.73_m2}", 60,
                120},
    [T_PROT] = {"2885-2", "Protein [Mass/volume] in Serum or Plasma", GEN_NM, 1, "g/dL", 60, 83},
    [T_ALB] = {"1751-7", "Albumin [Mass/volume] in Serum or Plasma", GEN_NM, 1, "g/dL", 35, 50},
    [T_BILI] = {"1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", GEN_NM, 1, "mg/dL", 1, 12},
    [T_ALP] = {"6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", GEN_NM, 0, "U/L",
               44, 147},
    [T_ALT] = {"1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", GEN_NM, 0,
               "U/L", 7, 56},
    [T_AST] = {"1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", GEN_NM, 0,
               "U/L", 10, 40},
    [T_CHOL] = {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", GEN_NM, 0, "mg/dL", 125, 200},
    [T_TRIG] = {"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", GEN_NM, 0, "mg/dL", 40, 150},
    [T_HDL] = {"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", GEN_NM, 0, "mg/dL", 40, 60},
    [T_LDL] = {"13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", GEN_NM, 0, "mg/dL",
               50, 100},
    [T_RATIO] = {"9830-1", "Cholesterol.total/Cholesterol in HDL [Mass Ratio] in Serum or Plasma", GEN_NM, 1,
                 "{ratio}", 30, 50},
    [T_TSH] = {"3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", GEN_NM, 2, "mIU/L", 40, 400},
    [T_FT4] = {"3024-7", "Thyroxine (T4) free [Mass/volume] in Serum or Plasma", GEN_NM, 2, "ng/dL", 80, 180},
    [T_A1C] = {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", GEN_NM, 1, "%", 40, 56},
    [T_UCOLOR] = {"5778-6", "Color of Urine", GEN_ST, 0, NULL, 0, 0},
    [T_UAPP] = {"5767-9", "Appearance of Urine", GEN_ST, 0, NULL, 0, 0},
    [T_USG] = {"5811-5", "Specific gravity of Urine by Test strip", GEN_NM, 3, "", 1005, 1030},
    [T_UPH] = {"5803-2", "pH of Urine by Test strip", GEN_NM, 1, "[pH]", 50, 80},
    [T_UPROT] = {"5804-0", "Protein [Mass/volume] in Urine by Test strip", GEN_CE_QUAL, 0, NULL, 0, 0},
    [T_UGLU] = {"5792-7", "Glucose [Mass/volume] in Urine by Test strip", GEN_CE_QUAL, 0, NULL, 0, 0},
    [T_UKET] = {"5797-6", "Ketones [Mass/volume] in Urine by Test strip", GEN_CE_QUAL, 0, NULL, 0, 0},
    [T_UBLD] = {"5794-3", "Hemoglobin [Presence] in Urine by Test strip", GEN_CE_QUAL, 0, NULL, 0, 0},
    [T_ULEU] = {"5799-2", "Leukocyte esterase [Presence] in Urine by Test strip", GEN_CE_QUAL, 0, NULL, 0, 0},
    [T_UNIT] = {"5802-4", "Nitrite [Presence] in Urine by Test strip", GEN_CE_QUAL, 0, NULL, 0, 0},
    [T_BCX] = {"600-7", "Bacteria identified in Blood by Culture", GEN_CE_ORG, 0, NULL, 0, 0},
    [T_UCX] = {"630-4", "Bacteria identified in Urine by Culture", GEN_CE_ORG, 0, NULL, 0, 0},
    [T_GRAM] = {"664-3", "Microscopic observation [Identifier] in Specimen by Gram stain", GEN_TX, 0, NULL, 0, 0},
    [T_COMMENT] = {"8251-1", "Service comment", GEN_TX, 0, NULL, 0, 0},
};
GEN_COUNT(gen_tests);

const gen_panel gen_panels[] = {
    {"58410-2", "CBC panel - Blood by Automated count", "HM", "BLD^Whole blood^HL70487", 250, 14,
     {T_WBC, T_RBC, T_HGB, T_HCT, T_MCV, T_MCH, T_MCHC, T_RDW, T_PLT, T_NEUT, T_LYMPH, T_MONO, T_EOS, T_BASO}},
    {"51990-0", "Basic metabolic panel - Blood", "CH", "SER^Serum^HL70487", 150, 9,
     {T_GLU, T_BUN, T_CREA, T_NA, T_K, T_CL, T_CO2, T_CA, T_EGFR}},
    {"24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma", "CH", "SER^Serum^HL70487", 150, 15,
     {T_GLU, T_BUN, T_CREA, T_NA, T_K, T_CL, T_CO2, T_CA, T_EGFR, T_PROT, T_ALB, T_BILI, T_ALP, T_ALT, T_AST}},
    {"57698-3", "Lipid panel with direct LDL - Serum or Plasma", "CH", "SER^Serum^HL70487", 100, 5,
     {T_CHOL, T_TRIG, T_HDL, T_LDL, T_RATIO}},
    {"24348-5", "Free T4 and TSH panel - Serum or Plasma", "CH", "SER^Serum^HL70487", 70, 2, {T_TSH, T_FT4}},
    {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "CH", "BLD^Whole blood^HL70487", 80, 1, {T_A1C}},
    {"24356-8", "Urinalysis complete panel - Urine", "UR", "UR^Urine^HL70487", 120, 10,
     {T_UCOLOR, T_UAPP, T_USG, T_UPH, T_UPROT, T_UGLU, T_UKET, T_UBLD, T_ULEU, T_UNIT}},
    {"600-7", "Bacteria identified in Blood by Culture", "MB", "BLD^Whole blood^HL70487", 40, 2, {T_BCX, T_GRAM}},
    {"630-4", "Bacteria identified in Urine by Culture", "MB", "UR^Urine^HL70487", 40, 2, {T_UCX, T_COMMENT}},
};
GEN_COUNT(gen_panels);
const uint32_t gen_panel_weight_total = 1000;

const char *const gen_nte_text[] = {
    "Patient fasting for 12 hours prior to collection.",
    "Specimen slightly hemolyzed; interpret potassium with caution.",
    "Critical value called to nursing unit & read back verified.",
    "Repeat in 3 months if clinically indicated.",
    "Results verified by second technologist.",
    "Reference ranges apply to adults 18+ years.",
    "Collected by RN at bedside | line draw.",
    "Add-on test requested by physician after collection.",
    "Sample received at room temperature; within stability window.",
    "Please correlate with clinical findings & prior results.",
};
GEN_COUNT(gen_nte_text);

const char *const gen_note_sentence[] = {
    "The patient tolerated the procedure well and there were no immediate complications.",
    "Symptoms began approximately three days prior to presentation and have progressively worsened.",
    "The patient denies fever, chills, night sweats or unintentional weight loss.",
    "Pain is described as dull and intermittent, rated 4 out of 10 at rest and 7 out of 10 with exertion.",
    "There is no history of similar episodes in the past.",
    "Home medications were reviewed and reconciled with the patient and family at the bedside.",
    "Lungs are clear to auscultation bilaterally without wheezes, rales or rhonchi.",
    "Heart has a regular rate and rhythm with no murmurs, rubs or gallops appreciated.",
    "Abdomen is soft, non-tender and non-distended with normal bowel sounds in all four quadrants.",
    "Extremities show no cyanosis, clubbing or edema; distal pulses are 2+ and symmetric.",
    "Neurologic examination is non-focal; cranial nerves II through XII are grossly intact.",
    "The patient is alert and oriented to person, place and time, and follows commands appropriately.",
    "Chest radiograph shows no acute cardiopulmonary process.",
    "Electrocardiogram demonstrates normal sinus rhythm without acute ST segment changes.",
    "Blood cultures were drawn prior to initiation of empiric antibiotic therapy.",
    "The patient was started on intravenous fluids and electrolytes were repleted as needed.",
    "Physical therapy evaluated the patient and recommends home with outpatient follow-up.",
    "Diet was advanced as tolerated without nausea or vomiting.",
    "The plan of care was discussed with the patient, who verbalized understanding and agreement.",
    "Follow-up with the primary care provider is recommended within one to two weeks of discharge.",
    "Return precautions were reviewed, including worsening pain, fever or shortness of breath.",
    "Glucose was monitored before meals and at bedtime with sliding scale insulin coverage.",
    "Anticoagulation was held perioperatively and resumed on postoperative day one.",
    "Wound is clean, dry and intact without erythema or drainage.",
    "The patient reports improved appetite and is ambulating independently in the hallway.",
    "Social work was consulted to assist with transportation and home health arrangements.",
    "Imaging of the lumbar spine shows mild degenerative changes without acute fracture.",
    "Pulmonary function will be reassessed at the next clinic visit.",
    "Medication side effects, including dizziness and gastrointestinal upset, were reviewed.",
    "No further inpatient workup is indicated at this time.",
    "Vaccination status was reviewed and an influenza vaccine was offered.",
    "Oxygen saturation remained above 94 percent on room air throughout the stay.",
};
GEN_COUNT(gen_note_sentence);
