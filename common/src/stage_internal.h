/* stage_internal.h - pieces of the stage loop shared between its files. */
#ifndef HL7FLOW_STAGE_INTERNAL_H
#define HL7FLOW_STAGE_INTERNAL_H

#include "hl7flow/config.h"
#include "hl7flow/stage.h"

#define HF_STAGE_CFG_NVARS 17

/* The common stage table with stage-specific defaults filled in. */
typedef struct hf_stage_cfg_vars {
    char group_default[128];
    hf_cfg_var vars[HF_STAGE_CFG_NVARS];
    hf_cfg_table table;
} hf_stage_cfg_vars;

/* Fills @p t for @p def (borrowed; @p t refers into itself and @p def). */
void hf_stage_cfg_table(const hf_stage_def *def, hf_stage_cfg_vars *t);

#endif
