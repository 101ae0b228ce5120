-- GET /v1/cars/{id} for the ids passed after `--`, in turn, so that every one of them is read.
local ids = {}
local next_index = 0

function init(args)
  for _, id in ipairs(args) do
    ids[#ids + 1] = "/v1/cars/" .. id
  end
  if #ids == 0 then
    error("get_ids.lua: pass the car ids after --")
  end
end

function request()
  next_index = next_index % #ids + 1
  return wrk.format("GET", ids[next_index])
end
