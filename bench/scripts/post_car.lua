-- POST /v1/cars with a different car every time: a unique VIN (valid check digit) and mileage.
-- The argument after `--` is a three-character tag (VIN alphabet) unique to this wrk run, so
-- that runs against the same database never repeat a VIN. wrk runs one thread here. A second
-- argument is a bearer token sent with every request.
local tag
local counter = 0
local models = {
  { "Toyota", "Corolla" }, { "Honda", "Civic" }, { "Ford", "Focus" }, { "BMW", "3 Series" },
  { "Volkswagen", "Golf" }, { "Tesla", "Model 3" }, { "Kia", "Niro" }, { "Mazda", "MX-5" },
}
local values = {
  A = 1, B = 2, C = 3, D = 4, E = 5, F = 6, G = 7, H = 8, J = 1, K = 2, L = 3, M = 4, N = 5,
  P = 7, R = 9, S = 2, T = 3, U = 4, V = 5, W = 6, X = 7, Y = 8, Z = 9,
}
local weights = { 8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2 }
local headers = { ["Content-Type"] = "application/json" }

local function check_digit(vin)
  local sum = 0
  for i = 1, 17 do
    local char = vin:sub(i, i)
    sum = sum + (tonumber(char) or values[char]) * weights[i]
  end
  local remainder = sum % 11
  return remainder == 10 and "X" or tostring(remainder)
end

function init(args)
  tag = args[1]
  if args[2] ~= nil then
    headers["Authorization"] = "Bearer " .. args[2]
  end
  if tag == nil or #tag ~= 3 then
    error("post_car.lua: pass a three-character run tag after --")
  end
end

function request()
  counter = counter + 1
  -- WMI 1HG, the tag, two counter digits, check digit, model year 2024 (R), 7 counter digits.
  local digits = string.format("%09d", counter)
  local draft = "1HG" .. tag .. digits:sub(1, 2) .. "0R" .. digits:sub(3, 9)
  local vin = draft:sub(1, 8) .. check_digit(draft) .. draft:sub(10)
  local model = models[counter % #models + 1]
  local body = string.format(
    '{"make":"%s","model":"%s","year":2024,"color":"blue","price":"%d.00","mileage_km":%d,"vin":"%s"}',
    model[1], model[2], 15000 + counter % 20000, counter % 200000, vin
  )
  return wrk.format("POST", "/v1/cars", headers, body)
end
