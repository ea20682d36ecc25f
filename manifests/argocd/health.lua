-- Argo CD health check for journeys.dev/Journey (docs/gitops.md).
-- Healthy: Live and current, or Finished. Progressing: not yet observed, draining (Closed),
-- halting. Degraded: Stalled (the operator cannot reconcile it). Suspended: Stopped.
local hs = {}

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil
    or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end

local conditions = status.conditions
local ready = condition(conditions, "Ready")
local stalled = condition(conditions, "Stalled")
local reconciling = condition(conditions, "Reconciling")
local active = 0
if status.participants ~= nil and status.participants.active ~= nil then
  active = status.participants.active
end

if is_true(stalled) or (ready ~= nil and ready.status == "False" and ready.reason == "Stalled") then
  hs.status = "Degraded"
  hs.message = (stalled ~= nil and is_true(stalled) and stalled.message) or ready.message
  return hs
end

if is_true(reconciling) then
  hs.status = "Progressing"
  hs.message = reconciling.message or "Reconciling"
  return hs
end

local phase = status.phase
if phase == "Stopped" then
  hs.status = "Suspended"
  hs.message = "Stopped"
  if status.stoppedBy ~= nil and status.stoppedBy ~= "" then
    hs.message = hs.message .. " by " .. status.stoppedBy
  end
  if status.stopReason ~= nil and status.stopReason ~= "" then
    hs.message = hs.message .. ": " .. status.stopReason
  end
  return hs
end

if phase == "Finished" then
  hs.status = "Healthy"
  hs.message = "Finished"
  return hs
end

if phase == "Closed" then
  hs.status = "Progressing"
  hs.message = "Draining: " .. tostring(active) .. " participants still inside"
  return hs
end

if phase == "Live" and is_true(ready) then
  hs.status = "Healthy"
  hs.message = "Live: " .. tostring(active) .. " participants inside"
  return hs
end

hs.status = "Progressing"
hs.message = (ready ~= nil and ready.message) or "Waiting for the operator"
return hs
